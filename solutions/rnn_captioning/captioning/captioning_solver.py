"""Trains a CaptioningRNN with minibatch gradient descent, provided in full.

Example::

    data = load_coco_data(max_train=10000)
    model = CaptioningRNN(data["word_to_idx"], input_dim=data["train_features"].shape[1])
    solver = CaptioningSolver(model, data, update_rule="adam",
                              optim_config={"learning_rate": 5e-3},
                              lr_decay=0.995, batch_size=25, num_epochs=50,
                              print_every=10)
    solver.train()
    plt.plot(solver.loss_history)
"""

from . import optim
from .coco_utils import sample_coco_minibatch


class CaptioningSolver:
    """Runs the training loop of a captioning model.

    The model must have a ``params`` dict of numpy arrays and a method
    ``loss(features, captions) -> (loss, grads)`` whose grads have the keys
    of params. The solver updates ``model.params`` in place and records the
    loss of every iteration in ``loss_history``.
    """

    def __init__(self, model, data, **kwargs):
        """Build a solver.

        Required arguments:
        - model: the model to train
        - data: a dict as returned by load_coco_data

        Optional keyword arguments:
        - update_rule: name of a rule in optim.py (default "sgd")
        - optim_config: hyperparameters of the update rule, such as
          learning_rate; every parameter gets its own copy
        - lr_decay: the learning rate is multiplied by this after every epoch
        - batch_size: captions per minibatch (default 100)
        - num_epochs: epochs to train for (default 10)
        - print_every: print the loss every this many iterations (default 10)
        - verbose: print progress at all (default True)
        """
        self.model = model
        self.data = data

        self.update_rule = kwargs.pop("update_rule", "sgd")
        self.optim_config = kwargs.pop("optim_config", {})
        self.lr_decay = kwargs.pop("lr_decay", 1.0)
        self.batch_size = kwargs.pop("batch_size", 100)
        self.num_epochs = kwargs.pop("num_epochs", 10)
        self.print_every = kwargs.pop("print_every", 10)
        self.verbose = kwargs.pop("verbose", True)

        if kwargs:
            unknown = ", ".join(f'"{k}"' for k in kwargs)
            raise ValueError(f"Unrecognized arguments {unknown}")
        if not hasattr(optim, self.update_rule):
            raise ValueError(f'Invalid update_rule "{self.update_rule}"')
        self.update_rule = getattr(optim, self.update_rule)

        self._reset()

    def _reset(self):
        """Forget the training history and the state of the update rule."""
        self.epoch = 0
        self.best_val_acc = 0
        self.best_params = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}

    def _step(self):
        """One gradient update on one random minibatch of training captions."""
        captions, features, _urls = sample_coco_minibatch(
            self.data, batch_size=self.batch_size, split="train"
        )
        loss, grads = self.model.loss(features, captions)
        self.loss_history.append(loss)

        for p, w in self.model.params.items():
            next_w, next_config = self.update_rule(w, grads[p], self.optim_configs[p])
            self.model.params[p] = next_w
            self.optim_configs[p] = next_config

    def train(self):
        """Train for num_epochs epochs."""
        num_train = self.data["train_captions"].shape[0]
        iterations_per_epoch = max(num_train // self.batch_size, 1)
        num_iterations = self.num_epochs * iterations_per_epoch

        for t in range(num_iterations):
            self._step()
            if self.verbose and t % self.print_every == 0:
                print(f"(Iteration {t + 1} / {num_iterations}) loss: {self.loss_history[-1]:f}")

            if (t + 1) % iterations_per_epoch == 0:
                self.epoch += 1
                for config in self.optim_configs.values():
                    config["learning_rate"] *= self.lr_decay
