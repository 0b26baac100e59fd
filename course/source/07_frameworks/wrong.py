# %% watch_answer
def train_with_validation(model, opt, x_train, y_train, x_val, y_val, epochs, plot):
    loss_fn = nn.MSELoss()
    val_losses, best_epoch, best_state = [], None, None
    for e in range(epochs):
        loss = loss_fn(model(x_train), y_train)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            val_loss = loss_fn(model(x_val), y_val).item()
        plot.update(e, loss=loss.item(), val_loss=val_loss)
        val_losses.append(val_loss)
        if best_epoch is None or val_loss < val_losses[best_epoch]:
            best_epoch = e
            best_state = model.state_dict()        # no copies: these tensors keep changing with the model
    model.load_state_dict(best_state)
    return val_losses, best_epoch
