"""Benchmark: one training epoch with the optimizer on a flat vector vs on the parameter tree.

The model is the issue-4 toy hybrid: a 2-16-16-1 MLP predicting Rb (softplus head) times a
global Q10 stored in a ``PhysicsParam`` (RECO = Rb(x)·Q10^((T−15)/10)), 338 trainable scalars in
7 leaves, on 245,000 synthetic rows (``_bench_data.py``), Adam, batch 1024 (240 steps per
epoch). Both variants are scan-fused and jitted once, use the same batching (the host-side
``RowOrder`` of each epoch, then ``weighted_batches``) and objective (masked MSE):

- **flat**: ``hybridflux.training.epoch.make_train_epoch`` — gradients and Adam on one raveled
  vector (what ``fit`` runs, including the finiteness check; as in ``fit``, without the
  empty-batch guard, since ``RowOrder`` leaves no batch empty here);
- **tree**: the same loop with gradients and Adam on the ``nnx.State`` tree of 7 leaves, in
  the model's own row-major layout;
- **flat, row-major**: ``make_train_epoch(..., feature_major=False)``: the flat epoch without
  the feature-major evaluation of the narrow layers (``hybridflux.training.feature_major``),
  so that tree / flat row-major compares the optimizer representation alone.

A third line, for context, times the tree variant without scan fusion (a jitted step per batch
called from Python), to show what the scan fusion itself buys.

Then the flat epoch is taken apart — where an epoch of ``fit`` goes: the host-side row order
(``RowOrder``, numpy), the gather of the rows into batches (``weighted_batches``, jitted alone)
and the 240 optimizer steps alone (``make_train_scan`` on batches gathered beforehand: the floor
of any scan-fused epoch of this model, nothing but forward, backward and Adam), with the number
of XLA kernels launched per step (instructions of the compiled while-loop body that do work).

Reports compile time (first call) and the steady-state seconds per epoch (median of
``--repeats`` epochs, interleaved so that load drift hits all variants alike;
``block_until_ready``; the host-side row order is computed inside the timed region, as ``fit``
does), as wall time and as CPU time (``time.process_time``, all threads of the process: less
sensitive to other jobs on a shared machine), and the ratio tree / flat.

Run from the repository root:  .venv/bin/python benchmarks/bench_training_flat.py
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import time

import jax
import jax.numpy as jnp
import optax
from _bench_data import BATCH_SIZE, LEARNING_RATE, ROWS
from _bench_data import synthetic as synthetic_numpy
from flax import nnx

from hybridflux.hybrid.params import TRAIN_JOINT, PhysicsParam
from hybridflux.training.epoch import (
    RowOrder,
    make_train_epoch,
    make_train_scan,
    weighted_batches,
)
from hybridflux.training.flat import split_flat


class ToyQ10(nnx.Module):
    """2-16-16-1 MLP for Rb(x1, x2) times a global Q10 = 1 + 2·sigmoid(z)."""

    def __init__(self, seed: int = 0):
        rngs = nnx.Rngs(seed)
        self.l1 = nnx.Linear(2, 16, rngs=rngs)
        self.l2 = nnx.Linear(16, 16, rngs=rngs)
        self.l3 = nnx.Linear(16, 1, rngs=rngs)
        self.q10_z = PhysicsParam(jnp.zeros(()))

    def __call__(self, batch):
        x = jnp.stack([batch["x1"], batch["x2"]], axis=-1)
        h = jnp.tanh(self.l2(jnp.tanh(self.l1(x))))
        rb = jax.nn.softplus(self.l3(h))[..., 0]
        q10 = 1.0 + 2.0 * jax.nn.sigmoid(self.q10_z[...])
        return {"RECO": rb * q10 ** ((batch["TA"] - 15.0) / 10.0)}


def masked_mse(outputs, batch, weight):
    """Weighted MSE over rows with weight > 0 and a finite target."""
    ok = jnp.isfinite(batch["RECO"]) & (weight > 0)
    w = jnp.where(ok, weight, 0.0)
    resid = jnp.where(ok, outputs["RECO"] - jnp.where(ok, batch["RECO"], 0.0), 0.0)
    return jnp.sum(w * resid**2) / jnp.maximum(jnp.sum(w), 1.0), {}


def synthetic(n: int) -> dict[str, jax.Array]:
    """RECO = Rb(x)·1.5^((T−15)/10) with 5 % noise (``_bench_data.synthetic`` as JAX arrays)."""
    return {name: jnp.asarray(col) for name, col in synthetic_numpy(n).items()}


def make_tree_epoch(graphdef, optimizer):
    """The same scan-fused epoch, with gradients and optimizer state on the parameter tree."""

    def loss_fn(params, rest, batch, weight):
        return masked_mse(nnx.merge(graphdef, params, rest)(batch), batch, weight)

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def epoch(params, opt_state, rest, data, weight, order):
        def step(carry, xs):
            params, opt_state = carry
            (loss, _), grads = grad_fn(params, rest, *xs)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        xs = weighted_batches(data, weight, order)
        (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), xs)
        return params, opt_state, jnp.mean(losses)

    return epoch


def make_tree_step_loop(graphdef, optimizer):
    """Not scan-fused (context only): a jitted step per batch, called from a Python loop."""
    step_loss = jax.value_and_grad(
        lambda p, r, b, w: masked_mse(nnx.merge(graphdef, p, r)(b), b, w), has_aux=True
    )

    @jax.jit
    def step(params, opt_state, rest, xs, i):
        batch, w = jax.tree.map(lambda a: a[i], xs)
        (loss, _), grads = step_loss(params, rest, batch, w)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    batches = jax.jit(weighted_batches)

    def epoch(params, opt_state, rest, data, weight, order):
        xs = batches(data, weight, order)
        for i in range(xs[1].shape[0]):
            params, opt_state, loss = step(params, opt_state, rest, xs, i)
        return params, opt_state, loss

    return epoch


class Timed:
    """One variant's epoch function and carried state; records seconds per call."""

    def __init__(self, epoch, params, opt_state, rest, data, batch_size):
        self.epoch, self.params, self.opt_state, self.rest, self.data = (
            epoch,
            params,
            opt_state,
            rest,
            data,
        )
        self.weight = jnp.ones(data["RECO"].shape[0], jnp.float32)
        self.row_order = RowOrder(self.weight, batch_size)
        self.seconds: list[float] = []
        self.cpu: list[float] = []  # time.process_time: all threads of the process

    def run(self, e: int) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        order = self.row_order(0, e)  # on the host, every epoch, as in ``fit``
        out = self.epoch(self.params, self.opt_state, self.rest, self.data, self.weight, order)
        jax.block_until_ready(out)
        self.seconds.append(time.perf_counter() - t0)
        self.cpu.append(time.process_time() - c0)
        self.params, self.opt_state = out[0], out[1]


class Part:
    """One part of the flat epoch, timed alone: ``call(e)`` does the work of epoch ``e``."""

    def __init__(self, call):
        self.call, self.seconds, self.cpu = call, [], []

    def run(self, e: int) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        jax.block_until_ready(self.call(e))
        self.seconds.append(time.perf_counter() - t0)
        self.cpu.append(time.process_time() - c0)


def kernels_per_step(hlo_text: str) -> int:
    """Instructions doing work in the body of the compiled epoch's while loop.

    Parameters, tuples, ``get-tuple-element``, constants and bitcasts are bookkeeping, not
    kernels; everything else (fusions, dots, copies, reductions) is one kernel launch per step.
    """
    body = re.search(r"while\(.*?body=%([\w.\-]+)", hlo_text).group(1)
    lines = hlo_text.split(f"%{body} ", 1)[1].split("\n}", 1)[0].splitlines()[1:]
    skip = ("parameter(", "get-tuple-element(", "tuple(", "constant(", "bitcast(")
    return sum(1 for line in lines if "=" in line and not any(k in line for k in skip))


def parts(flat_model, flat, optimizer, data, batch_size, guard):
    """The row order, the gather and the scan of the flat epoch, as separately timed parts."""
    weight = jnp.ones(data["RECO"].shape[0], jnp.float32)
    row_order = RowOrder(weight, batch_size)
    gather, order = jax.jit(weighted_batches), row_order(0, 0)
    batches, w = gather(data, weight, order)
    scan = jax.jit(make_train_scan(flat_model, masked_mse, optimizer, guard_empty_batches=guard))
    carry = {"state": (flat, optimizer.init(flat))}

    def run_scan(e):
        out = scan(*carry["state"], flat_model.rest, batches, w)
        carry["state"] = out[:2]
        return out

    return {
        "order": Part(lambda e: row_order(0, e)),
        "gather": Part(lambda e: gather(data, weight, order)),
        "scan": Part(run_scan),
    }


def report(variants: dict, args: argparse.Namespace, load: list, header: str, kernels: int):
    """Print the medians (wall and CPU), the ratio tree / flat and the parts of the flat epoch."""
    first = {name: v.seconds[0] for name, v in variants.items()}
    med = {name: statistics.median(v.seconds[1:]) for name, v in variants.items()}
    cpu = {name: statistics.median(v.cpu[1:]) for name, v in variants.items()}
    steps = -(-args.rows // args.batch_size)
    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPUs visible "
        f"({platform.machine()}); load average {min(load):.2f}-{max(load):.2f}"
    )
    print(
        f"{header}; {args.rows} rows, batch {args.batch_size} ({steps} steps/epoch), Adam, "
        f"median of {args.repeats} interleaved epochs"
    )
    labels = (("flat", "flat vector"), ("rows", "flat, row-major"), ("tree", "param tree"))
    for name, label in labels:
        print(
            f"{label:15s}: {med[name]:8.4f} s/epoch (CPU {cpu[name]:.4f} s)   (first call incl. "
            f"compile {first[name]:5.2f} s)"
        )
    print(
        f"ratio tree / flat: {med['tree'] / med['flat']:.2f}x; tree / flat row-major: "
        f"{med['tree'] / med['rows']:.2f}x; flat row-major / flat: {med['rows'] / med['flat']:.2f}x"
    )
    print(
        f"context, tree with one jitted step per batch (no scan): {med['loop']:.4f} s/epoch "
        f"({med['loop'] / med['flat']:.2f}x the flat scan-fused epoch)"
    )
    for what, m in (("wall", med), ("CPU ", cpu)):
        print(
            f"parts of the flat epoch, timed alone, {what}: host row order "
            f"{m['order'] * 1e3:.2f} ms | gather {m['gather'] * 1e3:.2f} ms | scan of {steps} "
            f"steps {m['scan'] * 1e3:.2f} ms ({m['scan'] / steps * 1e6:.0f} us/step)"
        )
    print(f"kernels launched per step (compiled while-loop body): {kernels}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    data, optimizer, model = synthetic(args.rows), optax.adam(LEARNING_RATE), ToyQ10()
    flat_model, flat = split_flat(model, TRAIN_JOINT)
    graphdef, params, rest = nnx.split(model, TRAIN_JOINT, ...)
    guard = RowOrder(jnp.ones(args.rows), args.batch_size).has_empty_batches  # as ``fit`` does
    epoch_fn = make_train_epoch(
        flat_model, masked_mse, optimizer, args.batch_size, guard_empty_batches=guard
    )
    flat_fn = jax.jit(epoch_fn)
    rows_fn = jax.jit(
        make_train_epoch(
            flat_model, masked_mse, optimizer, args.batch_size, guard_empty_batches=guard,
            feature_major=False,
        )
    )  # fmt: skip
    tree_fn = jax.jit(make_tree_epoch(graphdef, optimizer))
    loop_fn = make_tree_step_loop(graphdef, optimizer)
    bs = args.batch_size
    variants = {
        "flat": Timed(flat_fn, flat, optimizer.init(flat), flat_model.rest, data, bs),
        "rows": Timed(rows_fn, flat, optimizer.init(flat), flat_model.rest, data, bs),
        "tree": Timed(tree_fn, params, optimizer.init(params), rest, data, bs),
        "loop": Timed(loop_fn, params, optimizer.init(params), rest, data, bs),
        **parts(flat_model, flat, optimizer, data, bs, guard),
    }
    load = [os.getloadavg()[0]]
    for e in range(args.repeats + 1):  # interleaved, so load drift hits all variants alike
        for variant in variants.values():
            variant.run(e)
    load.append(os.getloadavg()[0])
    flat_run = variants["flat"]
    hlo = flat_fn.lower(flat, optimizer.init(flat), flat_model.rest, data, flat_run.weight,
                        flat_run.row_order(0, 0)).compile().as_text()  # fmt: skip
    header = (
        f"2-16-16-1 MLP + Q10: {flat_model.size} parameters in "
        f"{len(jax.tree.leaves(params))} leaves"
    )
    report(variants, args, load, header, kernels_per_step(hlo))


if __name__ == "__main__":
    main()
