# Wrong answers the tests must catch (see course/AUTHORING.md): each `# %%%` is one wrong answer.

# %%% relu_after_last_linear
# fails: test_mlp
# says: not after the last one
# %% mlp_answer
def make_mlp(D_in, H, D_out):
    return torch.nn.Sequential(torch.nn.Linear(D_in, H), torch.nn.ReLU(), torch.nn.Linear(H, D_out), torch.nn.ReLU())

# %%% train_no_zero_grad
# fails: test_train
# says: zero the gradients
# %% train_answer
def train_mse(model, x, y, learning_rate, steps):
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()                                     # gradients pile up step after step
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
        losses.append(loss.item())
    return losses

# %%% train_rebinds_params
# fails: test_train
# says: the loss never changes; param -= learning_rate * param.grad
# %% train_answer
def train_mse(model, x, y, learning_rate, steps):
    losses = []
    for _ in range(steps):
        model.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param = param - learning_rate * param.grad  # a new tensor: the model never changes
        losses.append(loss.item())
    return losses

# %%% TwoLayerNet_no_relu
# fails: test_TwoLayerNet
# says: clamp(min=0)
# %% TwoLayerNet_answer
class TwoLayerNet(torch.nn.Module):
    def __init__(self, D_in, H, D_out):
        super().__init__()
        self.linear1 = torch.nn.Linear(D_in, H)
        self.linear2 = torch.nn.Linear(H, D_out)

    def forward(self, x):
        return self.linear2(self.linear1(x))

# %%% ParallelBlock_relu_per_branch
# fails: test_ParallelBlock
# says: multiply their outputs, then clamp(min=0)
# %% ParallelBlock_answer
class ParallelBlock(torch.nn.Module):
    def __init__(self, D_in, D_out):
        super().__init__()
        self.linear1 = torch.nn.Linear(D_in, D_out)
        self.linear2 = torch.nn.Linear(D_in, D_out)

    def forward(self, x):
        h1 = self.linear1(x).clamp(min=0)      # ReLU on each branch before combining: not the lecture's block
        h2 = self.linear2(x).clamp(min=0)
        return h1 * h2


def parallel_net(D_in, H, D_out):
    return torch.nn.Sequential(
        ParallelBlock(D_in, H),
        ParallelBlock(H, H),
        torch.nn.Linear(H, D_out))

# %%% ce_without_max
# fails: test_ce
# says: subtract each row's max
# %% ce_answer
def cross_entropy(logits, target):
    log_probs = logits - logits.exp().sum(dim=1, keepdim=True).log()   # exp overflows for large logits
    return -log_probs[torch.arange(logits.shape[0]), target].mean()

# %%% save_returns_original
# fails: test_save
# says: return the *new* model
# %% save_answer
def save_and_restore(model, make_model, path):
    torch.save(model.state_dict(), path)
    return model

# %%% accuracy_integer_division
# fails: test_acc
# says: integer division (//)
# %% acc_answer
def accuracy(model, X, y):
    model.eval()
    with torch.no_grad():
        pred = model(X).argmax(dim=1)
    return (pred == y).sum().item() // len(y)               # integer division: 0

# %%% accuracy_train_mode
# fails: test_acc
# says: model.eval()
# %% acc_answer
def accuracy(model, X, y):
    pred = model(X).argmax(dim=1)                           # dropout still on
    return (pred == y).float().mean().item()

# %%% finetune_not_frozen
# fails: test_finetune
# says: must stay frozen
# %% finetune_answer
def finetune(model, X, y, num_classes, steps, learning_rate):
    model.fc = torch.nn.Linear(model.fc.in_features, num_classes)
    model.train()
    for _ in range(steps):
        model.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():                # every layer moves
                param -= learning_rate * param.grad
    return model
