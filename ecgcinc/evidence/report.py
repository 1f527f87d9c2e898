"""A model's report on a labelled folder: one self-contained HTML page plus its PNGs.

Contents: the training curves (history.json); per-class ROC and precision-recall
curves with AUROC/AUPRC (the evaluator's operating points); the decision
threshold of every class and the method that set it; the challenge's
true-vs-predicted credit matrix as a heat map next to the benefit matrix W; and
the scores per source domain.  Figures are PNGs embedded as base64, so the page
opens offline and can be mailed as one file.
"""
from __future__ import annotations

import base64
import html
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import metrics
from ..serving import model_folder
from ..dataset.data import domain_of
from .evaluation import evaluate_folders, load_label_matrix, pair_files
from ..serving.inference import Scored
from ..io.outputs import read_outputs
from ..serving.predict import Predictor, load_predictor, predict_folder


@dataclass
class Evaluated:
    """A folder as the driver predicts it and the evaluator scores it."""
    predictor: Predictor
    names: list[str]
    labels: np.ndarray        # (N, C) bool, from the headers
    domains: list[str]        # each record's source
    scored: Scored


def evaluate_folder(model_dir: str | Path, data_dir: str | Path) -> Evaluated:
    """Every record of data_dir through the driver's own loop (predict_folder: records that need
    repairs get the best guess, unreadable ones the empty output) and scored by the evaluator's
    own code on the written files: the report's scores are the official evaluator's on the
    driver's outputs, for the same records."""
    predictor = load_predictor(model_dir)
    with tempfile.TemporaryDirectory(prefix="ecgcinc-report-") as outputs:
        predict_folder(model_dir, data_dir, outputs, verbose=0)
        classes, scores = evaluate_folders(data_dir, outputs)
        headers, files = pair_files(data_dir, outputs)
        binary, probabilities = (np.stack(parts) for parts in zip(*(read_outputs(f, classes) for f in files)))
    names = [h.stem for h in headers]
    return Evaluated(predictor, names, load_label_matrix(headers, classes),
                     [domain_of(n, predictor.cfg.train.domains) for n in names],
                     Scored(probabilities, binary, scores))


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_history(history: dict, out: Path) -> Path:
    plt = _pyplot()
    epochs = history.get("epochs", [])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    x = [e["epoch"] for e in epochs]
    for key in sorted({k for e in epochs for k in e if k.endswith("loss")}):
        left.plot(x, [e.get(key, np.nan) for e in epochs], marker=".", label=key)
    left.set(xlabel="epoch", ylabel="training loss", title="loss")
    left.legend(fontsize=7)
    for key in ("val_challenge", "val_auroc", "val_f_measure", "val_accuracy"):
        right.plot(x, [e.get(key, np.nan) for e in epochs], marker=".", label=key)
    if history.get("best_epoch", -1) > 0:
        right.axvline(history["best_epoch"], color="0.5", ls="--", lw=1, label="kept epoch")
    right.set(xlabel="epoch", ylabel="score", title="validation")
    right.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, out)


def _grid(n: int):
    plt = _pyplot()
    cols = 6
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.2 * rows), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    return fig, axes.ravel()


def plot_curves(labels: np.ndarray, probabilities: np.ndarray, names: list[str], out: Path, kind: str) -> Path:
    """Small multiples, one per class: ROC (1-TNR vs TPR) or precision-recall (TPR vs PPV)."""
    fig, axes = _grid(len(names))
    for k, (ax, name) in enumerate(zip(axes, names)):
        positives = int(labels[:, k].sum())
        if positives == 0 or positives == len(labels):
            ax.text(0.5, 0.5, "no positives" if positives == 0 else "no negatives", ha="center", va="center")
            ax.set_title(name, fontsize=8)
            ax.set_xticks([]), ax.set_yticks([])
            continue
        tpr, tnr, ppv = metrics.operating_points(labels[:, k], probabilities[:, k])
        auroc, auprc = metrics.class_auc(labels[:, k], probabilities[:, k])
        if kind == "roc":
            ax.plot(1 - tnr, tpr, lw=1)
            ax.plot([0, 1], [0, 1], color="0.8", lw=0.8)
            ax.set_title(f"{name}  AUROC {auroc:.2f}  (n+={positives})", fontsize=7)
        else:
            ax.step(tpr[1:], ppv[1:], where="pre", lw=1)
            ax.axhline(positives / len(labels), color="0.8", lw=0.8)
            ax.set_title(f"{name}  AUPRC {auprc:.2f}  (n+={positives})", fontsize=7)
        ax.set_xlim(0, 1), ax.set_ylim(0, 1.02)
        ax.tick_params(labelsize=6)
    fig.suptitle("ROC curves (x: 1 - specificity, y: sensitivity)" if kind == "roc"
                 else "precision-recall curves (x: recall, y: precision)", fontsize=9)
    fig.tight_layout()
    return _save(fig, out)


def plot_thresholds(thresholds: np.ndarray, names: list[str], method: str, out: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 3))
    ax.bar(range(len(names)), thresholds, color="tab:blue")
    ax.set_xticks(range(len(names)), names, rotation=70, fontsize=7)
    ax.set(ylabel="threshold", ylim=(0, 1), title=f"decision thresholds per class ({method})")
    fig.tight_layout()
    return _save(fig, out)


def plot_confusion(labels: np.ndarray, binary: np.ndarray, weights: np.ndarray, names: list[str], out: Path) -> Path:
    """Credit matrix A (each record spread over its true x predicted pairs, as the challenge
    metric counts it), rows normalised per true class, beside the benefit matrix W."""
    plt = _pyplot()
    confusion = metrics.modified_confusion(labels, binary)
    rows = confusion.sum(axis=1, keepdims=True)
    normalised = np.divide(confusion, rows, out=np.zeros_like(confusion), where=rows > 0)
    fig, axes = plt.subplots(1, 2, figsize=(15, 7))
    for ax, matrix, title in ((axes[0], normalised, "true (rows) vs predicted (columns), row-normalised"),
                              (axes[1], weights, "benefit matrix W (weights.csv)")):
        image = ax.imshow(matrix, cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
        ax.set_yticks(range(len(names)), names, fontsize=6)
        ax.set_title(title, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return _save(fig, out)


def threshold_notes(thresholds: np.ndarray, train_labels: np.ndarray) -> list[str]:
    """Why a class is never predicted (threshold 1): no positive among the training records, so
    CICST has nothing to justify predicting it, or the threshold method set it so."""
    positives = train_labels.astype(bool).sum(axis=0)
    return ["" if t < 1.0 else
            f"never predicted: no positive among the {len(train_labels)} training records" if positives[k] == 0 else
            f"never predicted: the threshold method set 1 ({positives[k]} training positives)"
            for k, t in enumerate(thresholds)]


def domain_scores(e: Evaluated) -> list[tuple[str, int, float, float, float]]:
    """(domain, records, challenge, AUROC, macro F) per source, with the model's thresholds."""
    classes = e.predictor.classes
    rows = []
    domains = np.array(e.domains)
    for domain in sorted(set(e.domains)):
        rows_d = domains == domain
        s = metrics.score_all(classes.weights, classes.sinus_index, e.labels[rows_d],
                              e.scored.binary[rows_d], e.scored.probabilities[rows_d])
        rows.append((domain, int(rows_d.sum()), s.challenge_metric, s.auroc, s.f_measure))
    return rows


def plot_domains(rows: list[tuple[str, int, float, float, float]], out: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(4, 1.5 * len(rows)), 3.2))
    x = np.arange(len(rows))
    for offset, index, label in ((-0.27, 2, "challenge"), (0, 3, "AUROC"), (0.27, 4, "macro F")):
        ax.bar(x + offset, [r[index] for r in rows], width=0.27, label=label)
    ax.set_xticks(x, [f"{r[0]}\n(n={r[1]})" for r in rows], fontsize=7)
    ax.set(ylim=(min(0, min(r[2] for r in rows)), 1), title="scores per source domain")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, out)


def _save(fig, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    _pyplot().close(fig)
    return out


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list]) -> str:
    def cell(v) -> str:
        return f"{v:.3f}" if isinstance(v, float) else html.escape(str(v))
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def build_report(model_dir: str | Path, data_dir: str | Path, out_dir: str | Path) -> Path:
    """Write <out_dir>/report.html and the PNGs it embeds; returns the HTML path."""
    model_dir, out = Path(model_dir), Path(out_dir)
    e = evaluate_folder(model_dir, data_dir)
    classes, labels = e.predictor.classes, e.labels
    names = classes.abbreviations
    scores, probabilities, binary = e.scored.scores, e.scored.probabilities, e.scored.binary
    history = model_folder.read_history(model_dir)
    method = model_folder.describe_thresholds(model_dir)
    domains = domain_scores(e)
    figures = {"history": plot_history(history, out / "history.png"),
               "roc": plot_curves(labels, probabilities, names, out / "roc.png", "roc"),
               "pr": plot_curves(labels, probabilities, names, out / "pr.png", "pr"),
               "thresholds": plot_thresholds(e.predictor.thresholds, names, model_folder.read_threshold_info(model_dir)["method"],
                                             out / "thresholds.png"),
               "confusion": plot_confusion(labels, binary, classes.weights, names, out / "confusion.png"),
               "domains": plot_domains(domains, out / "domains.png")}
    ece = metrics.expected_calibration_error(labels, probabilities)
    notes = threshold_notes(e.predictor.thresholds, model_folder.read_train_labels(model_dir))
    per_class = [[names[k], int(labels[:, k].sum()), int(binary[:, k].sum()), float(e.predictor.thresholds[k]),
                  float(scores.auroc_classes[k]), float(scores.auprc_classes[k]), float(scores.f_measure_classes[k]),
                  float(ece[k]), notes[k]] for k in range(len(classes))]
    finite_ece = ece[np.isfinite(ece)]
    summary = [["records", len(labels)], ["challenge metric", scores.challenge_metric], ["AUROC", scores.auroc],
               ["AUPRC", scores.auprc], ["accuracy", scores.accuracy], ["macro F", scores.f_measure],
               ["mean ECE (10 bins)", float(finite_ece.mean()) if finite_ece.size else float("nan")],
               ["calibration", e.predictor.calibration.method]]
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>ECG classifier report</title>
<style>body{{font-family:sans-serif;max-width:1500px;margin:auto;padding:1em}}
table{{border-collapse:collapse;margin:0.5em 0}}td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}}
img{{max-width:100%}}</style></head><body>
<h1>Report: {html.escape(str(model_dir))} on {html.escape(str(data_dir))}</h1>
<h2>Scores</h2>{_table(["measure", "value"], summary)}
<h2>Training curves</h2>{_img(figures["history"])}
<h2>ROC curves</h2>{_img(figures["roc"])}
<h2>Precision-recall curves</h2>{_img(figures["pr"])}
<h2>Thresholds ({html.escape(method)})</h2>{_img(figures["thresholds"])}
{_table(["class", "positives", "predicted", "threshold", "AUROC", "AUPRC", "F", "ECE", "note"], per_class)}
<h2>Confusion (challenge credit) and benefit matrix</h2>{_img(figures["confusion"])}
<h2>Scores per source domain</h2>{_img(figures["domains"])}
{_table(["domain", "records", "challenge", "AUROC", "macro F"], [list(r) for r in domains])}
</body></html>"""
    path = out / "report.html"
    path.write_text(page)
    return path
