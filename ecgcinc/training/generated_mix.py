"""Generated records beside a small folder's own in training: the other half of the head start.

Why: on the 248 real records, leaving one source out (docs/results.md, "Real records"), the head
start fine-tuned on the real records alone scored 0.291; fine-tuned on the same records with
about 500 generated ones beside them, 0.345 (+0.055 [+0.011, +0.102], 3 seeds), and above the
feature baseline on every lead set.  The network keeps seeing the generator's many clean
examples of rare classes while it learns what real records look like.

What: about `train.generated_records` records of the 2021 training set's shape
(signals/challenge_corpus.py: eight sources in their proportions, with their rates, lengths and
labelling habits), seed SEED, drawn once per machine and package version into the cache folder
and cached as any folder is.  They train and validate beside the folder's own records (one
stratified split of both); the fusion's feature models and the thresholds are fitted on both.
`Examples.generated` marks them, so the head start's record count counts the folder's own only.
A generated source is the same domain as the real one of its name (a generated CPSC-shaped
record and a real CPSC record are both "CPSC").

The rule (`train.generated_mix`): "auto" adds them when the network starts from the package's own
head start (head_start.choose: a small folder and the default small network), "on" always,
"off" never.  The time budget: they join only when the whole training with them is estimated
(sizes.estimate) to need at most sizes.FIT_SHARE of the time left.  Drawing 500 records takes
about 4 s (in the training process) and caching them about 20 s on 2 cores; each epoch then trains
them too.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from ..core.classes import ClassSet
from ..core.config import Config
from ..core.version import __version__
from ..dataset import cache
from ..dataset.data import Examples, load_examples, with_generated
from ..signals import challenge_corpus, synth
from ..signals.lead_sets import views
from . import head_start, sizes
from .budget import TimeBudget

AUTO, ON, OFF = "auto", "on", "off"
SEED = 37              # the study's; the shipped head start was pretrained on seed 36's records
FOLDER = "generated"   # under the cache root
# Drawn in this process: training has loaded Keras and started its threads by now, and a process
# pool forked from such a process can deadlock (a suite run hung so); 500 records take about 4 s.
DRAW_WORKERS = 1


def decide(cfg: Config, own_records: int, budget: TimeBudget | None = None,
           machine: sizes.Machine | None = None) -> tuple[bool, str]:
    """Whether generated records join a folder of `own_records` usable records, and why."""
    setting, records = cfg.train.generated_mix, cfg.train.generated_records
    if setting not in (AUTO, ON, OFF):
        raise ValueError(f"train.generated_mix must be auto, on or off, not {setting!r}")
    if setting == OFF or records <= 0:
        return False, "no generated records (train.generated_mix off)"
    if setting == AUTO:
        start, _ = head_start.choose(cfg, own_records)
        if start is None or start.parent != head_start.PRETRAINED:
            return False, "no generated records: they join the package's own head start only (train.generated_mix)"
    if budget is not None:
        machine = machine or sizes.detect_machine()
        need = sizes.estimate(cfg.model.size, own_records + records, machine, cfg.model.fusion,
                              len(views(cfg.preprocess.derive_limb_leads))).total_s
        if need > sizes.FIT_SHARE * budget.remaining():
            return False, (f"no generated records: training with them would take about {need:.0f} s of the "
                           f"{budget.remaining():.0f} s left (time budget)")
    return True, f"about {records:,} generated records train beside the folder's own (train.generated_mix)"


def _key(records: int) -> str:
    """The drawn folder's name: what its records depend on (the generator's code, the count, the seed)."""
    digest = hashlib.sha256(f"{__version__}\0{records}\0{SEED}".encode())
    for module in (synth, challenge_corpus):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def drawn_folder(records: int, root: Path | None = None) -> Path:
    """The folder of generated records, drawn on first use (into a staging folder renamed when
    complete, so an interrupted draw leaves nothing that looks finished)."""
    parent = cache.writable_root(root or cache.default_root()) / FOLDER
    target = parent / _key(records)
    if target.is_dir():
        return target
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        challenge_corpus.write_corpus(staging, records / challenge_corpus.FULL_SIZE, SEED, DRAW_WORKERS)
        os.rename(staging, target)
    except OSError:
        if not target.is_dir():  # not a concurrent draw finishing first
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def add_generated(examples: Examples, classes: ClassSet, cfg: Config, budget: TimeBudget | None = None,
                  verbose: int = 0) -> tuple[Examples, str]:
    """`examples` with the generated records after them when the rule says so, and why (or why not)."""
    wanted, reason = decide(cfg, examples.own, budget)
    if wanted:
        drawn = load_examples(drawn_folder(cfg.train.generated_records), classes, cfg)
        examples = with_generated(examples, drawn)
        reason = (f"{len(drawn):,} generated records (seed {SEED}) train beside the folder's {examples.own:,} "
                  "(train.generated_mix)")
    if verbose:
        print(reason, flush=True)
    return examples, reason
