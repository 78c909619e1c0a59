"""Training checks: the student's model learns the synthetic captioning data.

The child builds the student's CaptioningRNN from initial parameters the
parent drew, trains it with Adam from the trusted optim module on captions
the parent chose, and returns the trained parameters (and, for BLEU, the
student's greedy captions of held-out validation images). The parent never
takes the student's word for a loss: it evaluates the trained parameters with
the reference model, and decodes them greedily with the reference to check
the student's captions before scoring their BLEU.

The configurations and thresholds are in ``TRAINING``; ``thresholds.md`` beside this file
records the reference's distribution over seeds that they were chosen from
(``autograder thresholds`` measures it again).
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np

from ... import paths
from ...sandbox import Job, Limits, jobs
from .. import reference
from .common import Group, Plan, Verdict, fetch, op_problem
from .model import PARAM_SHAPES, caption_problem, compared_prefix, greedy

# Below this margin between the two best scores the reference's greedy choice
# could differ from float32 code, and the comparison stops.
SAMPLE_MARGIN = 1e-3


@dataclass(frozen=True)
class TrainingConfig:
    cell: str
    captions: int  # training captions drawn at random from the synthetic train split
    wordvec_dim: int
    hidden_dim: int
    iterations: int
    batch_size: int = 25
    lr: float = 5e-3
    lr_decay: float = 0.95
    loss_below: float | None = None  # overfit: final loss on the training captions
    bleu_above: float | None = None  # BLEU: average unigram BLEU on validation images
    val_images: int = 0
    one_caption_per_image: bool = True  # else several captions of an image may be drawn
    attempts: int = 3  # independent runs at most: the check passes when one of them does
    cpu: int = 60  # seconds of CPU time: the reference needs about 3, loops over the batch 15
    wall: float = 180.0


TRAINING = {
    "rnn_overfit": TrainingConfig(
        "rnn", captions=50, wordvec_dim=64, hidden_dim=128, iterations=60, batch_size=50,
        lr=0.02, lr_decay=1.0, loss_below=0.5,
    ),
    "lstm_overfit": TrainingConfig(
        "lstm", captions=50, wordvec_dim=64, hidden_dim=128, iterations=60, batch_size=50,
        lr=0.02, lr_decay=1.0, loss_below=0.5,
    ),
    "lstm_bleu": TrainingConfig(
        "lstm", captions=3000, wordvec_dim=64, hidden_dim=96, iterations=70, batch_size=50,
        lr=0.02, lr_decay=0.95, bleu_above=0.45, val_images=150, one_caption_per_image=False,
    ),
}  # fmt: skip


@functools.lru_cache(maxsize=1)
def synthetic_data():
    """The whole synthetic data set, loaded by the trusted coco_utils."""
    coco_utils = reference.module("coco_utils")
    return coco_utils.load_coco_data(str(paths.synthetic_data_dir()), pca_features=True)


def init_params(rng, dims, cell):
    """Initial parameters as CaptioningRNN.__init__ draws them (W_embed randn/100, the others randn/sqrt(fan-in), biases zero), in float32."""
    k = 4 if cell == "lstm" else 1
    V, D, W, H = dims["V"], dims["D"], dims["W"], dims["H"]
    params = {
        "W_embed": rng.standard_normal((V, W)) / 100,
        "W_proj": rng.standard_normal((D, H)) / np.sqrt(D),
        "b_proj": np.zeros(H),
        "Wx": rng.standard_normal((W, k * H)) / np.sqrt(W),
        "Wh": rng.standard_normal((H, k * H)) / np.sqrt(H),
        "b": np.zeros(k * H),
        "W_vocab": rng.standard_normal((H, V)) / np.sqrt(H),
        "b_vocab": np.zeros(V),
    }
    return {name: value.astype(np.float32) for name, value in params.items()}


def draw_case(config, rng, data=None):
    """Everything random about one training run: captions, initial parameters, seeds."""
    data = data or synthetic_data()
    if config.one_caption_per_image:
        # Two captions of one image would set a floor under the training loss.
        image_of = data["train_image_idxs"]
        order = rng.permutation(len(image_of))
        _, first = np.unique(image_of[order], return_index=True)
        rows = order[rng.choice(first, size=config.captions, replace=False)]
    else:
        rows = rng.choice(len(data["train_captions"]), size=config.captions, replace=False)
    captions = data["train_captions"][rows].astype(np.int32)  # as the notebooks pass them
    features = data["train_features"][data["train_image_idxs"][rows]].astype(np.float32)
    dims = {
        "V": len(data["word_to_idx"]),
        "D": features.shape[1],
        "W": config.wordvec_dim,
        "H": config.hidden_dim,
    }
    case = {
        "captions": captions,
        "features": features,
        "dims": dims,
        "params": init_params(rng, dims, config.cell),
        "seed": int(rng.integers(2**31)),
    }
    if config.val_images:
        images = rng.choice(len(data["val_features"]), size=config.val_images, replace=False)
        case["val_images"] = images
        case["val_features"] = data["val_features"][images].astype(np.float32)
    return case


def schedule(config, case):
    """The training of one run, as the child's train_loop takes it (keyword arguments)."""
    return asdict(
        jobs.Training(
            iterations=config.iterations,
            batch_size=config.batch_size,
            lr=config.lr,
            lr_decay=config.lr_decay,
            seed=case["seed"],
        )
    )


def reference_loss(ref, params, case, cell):
    """The full-batch loss of trained parameters on the training captions, by the reference."""
    from .model import reference_model

    model = reference_model(ref, params, case["dims"], cell)
    loss, _ = model.loss(case["features"].astype(np.float64), case["captions"])
    return float(loss)


def average_bleu(samples, images, data=None):
    """Average unigram BLEU of the greedy caption of each image against each of its
    validation captions, as captioning/bleu.py scores them."""
    data = data or synthetic_data()
    bleu = reference.module("bleu")
    coco_utils = reference.module("coco_utils")
    decoded = coco_utils.decode_captions(samples, data["idx_to_word"])
    scores = []
    for caption_row, image in enumerate(data["val_image_idxs"]):
        where = np.flatnonzero(images == image)
        if len(where):
            truth = coco_utils.decode_captions(
                data["val_captions"][caption_row], data["idx_to_word"]
            )
            scores.append(bleu.BLEU_score(truth, decoded[where[0]]))
    return float(np.mean(scores))


class TrainingGroup(Group):
    def __init__(self, name):
        self.name = name
        self.checks = (name,)
        self.config = TRAINING[name]
        self.attempts = self.config.attempts
        self.limits = Limits(cpu=self.config.cpu, wall=self.config.wall)

    def build(self, ctx):
        config = self.config
        case = draw_case(config, ctx.rng)
        dims = case["dims"]
        inputs = {f"init.{k}": v for k, v in case["params"].items()}
        inputs["train.features"] = case["features"]
        inputs["train.captions"] = case["captions"]
        kwargs = {
            "input_dim": dims["D"],
            "wordvec_dim": dims["W"],
            "hidden_dim": dims["H"],
            "cell_type": config.cell,
            "dtype": "float32",
        }
        steps = [
            jobs.model(
                "init",
                "m",
                synthetic_data()["word_to_idx"],
                kwargs,
                {k: f"init.{k}" for k in PARAM_SHAPES},
                case["seed"],
            ),
            jobs.train(
                "train",
                "m",
                "train.features",
                "train.captions",
                jobs.Training(**schedule(config, case)),
                losses="losses",
                params="trained",
                keys=PARAM_SHAPES,
            ),
        ]
        if config.val_images:
            inputs["val.features"] = case["val_features"]
            max_length = case["captions"].shape[1] - 1
            steps.append(
                jobs.method(
                    "sample",
                    "m",
                    "sample",
                    [jobs.In("val.features")],
                    [jobs.Save("samples")],
                    kwargs={"max_length": jobs.Int(max_length)},
                )
            )
        state = {"case": case, "ref": ctx.ref, "seed": ctx.seed}
        return Plan(Job(steps=steps, inputs=inputs, seed=case["seed"], limits=self.limits), state)

    def judge(self, plan, outcome):
        config, case = self.config, plan.state["case"]
        label = f"Training the {config.cell.upper()} captioning model"
        for step, fn in (("init", "CaptioningRNN.__init__"), ("train", "CaptioningRNN.loss")):
            why = op_problem(outcome, step, fn)
            if why:
                return self._verdict(False, f"{label} failed: {why}")
        params = {}
        for name, value in case["params"].items():
            got, why = fetch(outcome, f"trained.{name}", f"params[{name!r}]", value.shape)
            if got is None:
                return self._verdict(
                    False,
                    f"{label} failed: after training, {why[0].lower()}{why[1:]} (training diverged?)",
                )
            params[name] = got
        history, _ = outcome.array("losses")
        trend = ""
        if history is not None and history.size:
            trend = f" (the minibatch loss went from {history[0]:.3g} to {history[-1]:.3g})"
        ref = plan.state["ref"]
        if config.loss_below is not None:
            loss = reference_loss(ref, params, case, config.cell)
            passed = bool(loss < config.loss_below)
            text = (
                f"After {config.iterations} iterations of Adam on {config.captions} captions, "
                f"the training loss is {loss:.3f}; it must be below {config.loss_below:g}{trend}."
                + self._seed_text(plan)
            )
            if not passed:
                text += (
                    "\nHint: when every layer passes its own check, look at CaptioningRNN.loss: "
                    "every gradient must be the gradient of the loss it returns."
                )
            return self._verdict(passed, text, retry=not passed)
        why = op_problem(outcome, "sample", "CaptioningRNN.sample")
        if why:
            return self._verdict(False, f"{label}: {why}")
        expected, margins = greedy(
            ref,
            params,
            case["val_features"].astype(np.float64),
            config.cell,
            case["captions"].shape[1] - 1,
        )
        lengths = compared_prefix(expected, margins, SAMPLE_MARGIN)
        why, _ = caption_problem(
            outcome, "samples", expected, lengths, "your captions of the validation images"
        )
        if why:
            return self._verdict(False, f"{label}: after training, {why[0].lower()}{why[1:]}")
        samples, _ = fetch(outcome, "samples", "samples", expected.shape, integer=True)
        score = average_bleu(samples, case["val_images"])
        passed = bool(score > config.bleu_above)
        text = (
            f"After training on {config.captions} captions, the average unigram BLEU of the "
            f"greedy captions of {config.val_images} validation images is {score:.3f}; it must "
            f"be above {config.bleu_above:g}{trend}." + self._seed_text(plan)
        )
        return self._verdict(passed, text, retry=not passed)

    def _verdict(self, passed, message, retry=False):
        return {self.name: Verdict(passed, message, retry)}

    @staticmethod
    def _seed_text(plan):
        seed = plan.state.get("seed")
        return "" if seed is None else f" Grade seed {seed}."


GROUPS = [TrainingGroup(name) for name in TRAINING]
