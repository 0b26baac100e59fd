# Wrong answers the tests must catch (see course/AUTHORING.md): each `# %%%` is one wrong answer.

# %%% pixels_not_scaled
# fails: test_dataset
# says: pixels divided by 16
# %% dataset_answer
class DigitsDataset(Dataset):
    def __init__(self, images, labels):
        self.images = images
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return torch.from_numpy(self.images[i].reshape(64).astype(np.float32)), int(self.labels[i])

# %%% drops_last_batch
# fails: test_batches
# says: keeps the 2 samples left over
# %% batches_answer
def minibatch_indices(n, batch_size, shuffle, rng):
    order = rng.permutation(n) if shuffle else np.arange(n)
    return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]   # loses the last, smaller batch

# %%% generator_remade_each_epoch
# fails: test_batches
# says: every epoch the same order
# %% batches_answer
def minibatch_indices(n, batch_size, shuffle, rng):
    order = np.random.default_rng(0).permutation(n) if shuffle else np.arange(n)   # a new generator each call
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]

# %%% evaluate_in_train_mode
# fails: test_evaluate
# says: model.eval()
# %% evaluate_answer
def evaluate(model, loader):
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            logits = model(xb)
            total_loss += torch.nn.functional.cross_entropy(logits, yb, reduction="sum").item()
            correct += (logits.argmax(dim=1) == yb).sum().item()
            count += len(yb)
    return total_loss / count, correct / count

# %%% evaluate_mean_of_batch_means
# fails: test_evaluate
# says: the last batch has 64
# %% evaluate_answer
def evaluate(model, loader):
    model.eval()
    losses, correct, count = [], 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            logits = model(xb)
            losses.append(torch.nn.functional.cross_entropy(logits, yb).item())
            correct += (logits.argmax(dim=1) == yb).sum().item()
            count += len(yb)
    return float(np.mean(losses)), correct / count          # the short last batch counts as much as the others

# %%% labels_shuffled_apart
# fails: test_train
# says: no better than guessing; shuffled together
# %% train_answer
def train_digits(X_train, y_train, plot=None):
    xs = DataLoader(TensorDataset(X_train), batch_size=64, shuffle=True)
    ys = DataLoader(TensorDataset(y_train), batch_size=64, shuffle=True)     # a different order
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for epoch in range(10):
        for (xb,), (yb,) in zip(xs, ys):
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model
