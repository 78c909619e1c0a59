"""First-order update rules, provided in full.

Every rule has the signature ``next_w, config = update(w, dw, config)``:
- w: the current weights, a numpy array
- dw: the gradient of the loss with respect to w, of the same shape
- config: a dict of hyperparameters and of the state the rule keeps between
  steps (moving averages); missing entries get their defaults

The same config dict is passed back at the next step.
"""

import numpy as np


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent.

    config:
    - learning_rate: scalar learning rate (default 1e-2)
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def adam(w, dw, config=None):
    """Adam: moving averages of the gradient and of its square, bias-corrected.

    config:
    - learning_rate: scalar learning rate (default 1e-3)
    - beta1: decay of the moving average of the gradient (default 0.9)
    - beta2: decay of the moving average of the squared gradient (default 0.999)
    - epsilon: small scalar that avoids a division by zero (default 1e-8)
    - m, v: the moving averages, of the shape of w
    - t: the number of steps taken so far
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)

    beta1, beta2 = config["beta1"], config["beta2"]
    config["t"] += 1
    config["m"] = beta1 * config["m"] + (1 - beta1) * dw
    config["v"] = beta2 * config["v"] + (1 - beta2) * dw**2
    m_hat = config["m"] / (1 - beta1 ** config["t"])
    v_hat = config["v"] / (1 - beta2 ** config["t"])
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    return next_w, config
