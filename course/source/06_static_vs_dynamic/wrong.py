# Wrong answers the tests must catch (see course/AUTHORING.md): each `# %%%` is one wrong answer.

# %%% loss_mean_over_everything
# fails: test_assign_graph
# says: sum over outputs, mean over the batch
# %% assign_answer
def build_two_layer_assign(w1_init, w2_init, learning_rate):
    D, H = w1_init.shape
    D_out = w2_init.shape[1]
    x = tf.placeholder(tf.float64, shape=(None, D))
    y = tf.placeholder(tf.float64, shape=(None, D_out))
    w1 = tf.Variable(w1_init)
    w2 = tf.Variable(w2_init)
    y_pred = tf.matmul(tf.maximum(tf.matmul(x, w1), 0), w2)
    loss = tf.reduce_mean((y_pred - y) ** 2)                # a mean over the outputs too
    grad_w1, grad_w2 = tf.gradients(loss, [w1, w2])
    updates = tf.group(w1.assign(w1 - learning_rate * grad_w1), w2.assign(w2 - learning_rate * grad_w2))
    return x, y, loss, updates

# %%% updates_never_run
# fails: test_assign_train
# says: sess.run(loss) alone never runs the assign ops
# %% train_static_answer
def train_static(x, y, loss, updates, x_data, y_data, steps):
    losses = []
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(steps):
            loss_val = sess.run(loss, feed_dict={x: x_data, y: y_data})   # never runs the updates
            losses.append(float(loss_val))
        weights = sess.run(tf.global_variables())
    return losses, weights

# %%% init_inside_loop
# fails: test_assign_train
# says: run the initializer once
# %% train_static_answer
def train_static(x, y, loss, updates, x_data, y_data, steps):
    losses = []
    with tf.Session() as sess:
        for _ in range(steps):
            sess.run(tf.global_variables_initializer())     # resets the weights every step
            loss_val, _ = sess.run([loss, updates], feed_dict={x: x_data, y: y_data})
            losses.append(float(loss_val))
        weights = sess.run(tf.global_variables())
    return losses, weights

# %%% relu_on_both_dense_layers
# fails: test_dense
# says: ReLU on the first layer only
# %% dense_answer
def build_dense_net(D, H, D_out, learning_rate):
    x = tf.placeholder(tf.float64, shape=(None, D))
    y = tf.placeholder(tf.float64, shape=(None, D_out))
    init = tf.contrib.layers.xavier_initializer()
    h = tf.layers.dense(inputs=x, units=H, activation=tf.nn.relu, kernel_initializer=init)
    y_pred = tf.layers.dense(inputs=h, units=D_out, activation=tf.nn.relu, kernel_initializer=init)
    loss = tf.losses.mean_squared_error(y_pred, y)
    updates = tf.train.GradientDescentOptimizer(learning_rate).minimize(loss)
    return x, y, y_pred, loss, updates

# %%% dce_visit_order
# fails: test_dce
# says: in graph.nodes order
# %% dce_answer
def needed_nodes(graph, outputs):
    seen, order, stack = set(), [], list(outputs)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)                                  # the order of the walk, not the graph's
        stack.extend(node.inputs)
    return order

# %%% passes_on_the_original_graph
# fails: test_pass_counts
# says: run each pass on the graph the previous one returned
# %% pass_counts_answer
def pass_counts(graph, outputs, passes):
    g = tf.passes.optimize(graph, passes=(), outputs=outputs)
    return [g.num_nodes] + [tf.passes.optimize(g, passes=(p,)).num_nodes for p in passes]

# %%% saved_without_session
# fails: test_serialize
# says: export_model(sess, x, y_pred, folder)
# %% serialize_answer
def export_model(sess, x, y_pred, path):
    tf.save(path, y_pred, inputs=[x])                       # no session: the Variables' initial values


def predict_from_file(path, x_data):
    graph = tf.load(path)
    with tf.Session(graph=graph) as sess:
        return sess.run(graph.outputs[0], feed_dict={graph.inputs[0]: x_data})

# %%% branches_swapped
# fails: test_trace
# says: prev_loss < 5.0 picks w2a
# %% trace_answer
def lecture_model(x, y, w1, w2a, w2b, prev_loss):
    w2 = w2b if prev_loss < 5.0 else w2a
    return (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()


def trace_lecture_model(example_inputs):
    return torch.jit.trace(lecture_model, example_inputs)

# %%% cond_branches_swapped
# fails: test_cond
# says: picks w2a for 3.0 and w2b for 7.0
# %% cond_answer
def build_cond_loss(x, y, w1, w2a, w2b, prev_loss):
    w2 = tf.cond(prev_loss < 5.0, lambda: w2b, lambda: w2a)
    y_pred = tf.matmul(tf.maximum(tf.matmul(x, w1), 0), w2)
    return tf.reduce_sum((y_pred - y) ** 2)

# %%% while_one_extra
# fails: test_while
# says: depth 0: the loop body never runs
# %% while_answer
def build_repeated_layer(h, w, depth):
    def cond(i, h):
        return i <= depth                                   # one step too many

    def body(i, h):
        return i + 1, tf.nn.relu(tf.matmul(h, w))

    i, out = tf.while_loop(cond, body, [tf.constant(0, dtype=tf.int64), h])
    return out

# %%% rnn_no_state
# fails: test_rnn
# says: apply the cell to every element, in order
# %% rnn_answer
def rnn_encode(cell, xs):
    h = torch.zeros(xs[0].shape[0], cell.hidden_size, dtype=xs[0].dtype)
    return cell(xs[-1], h)                                  # only the last element

# %%% dynamic_new_layer_each_time
# fails: test_dynamic_net
# says: the same middle_linear applied depth times
# %% dynamic_net_answer
class DynamicNet(torch.nn.Module):
    def __init__(self, D_in, H, D_out):
        super().__init__()
        self.input_linear = torch.nn.Linear(D_in, H)
        self.middle_linear = torch.nn.Linear(H, H)
        self.output_linear = torch.nn.Linear(H, D_out)

    def forward(self, x, depth=None):
        if depth is None:
            depth = random.randint(0, 3)
        h_relu = self.input_linear(x).clamp(min=0)
        if depth:
            h_relu = self.middle_linear(h_relu).clamp(min=0)  # once, whatever the depth
        return self.output_linear(h_relu)
