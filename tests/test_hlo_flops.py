"""The FLOP counter behind the Dreamer step's FLOP rate (benchmarks/dreamer_flops.py) counts products,
loop trip counts and the larger branch of a conditional as XLA compiles them."""

import importlib.util
import os
import sys

import tensorflow as tf

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
_spec = importlib.util.spec_from_file_location("dreamer_flops", os.path.join(ROOT, "benchmarks", "dreamer_flops.py"))
flops = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(flops)


def _hlo(fn, *args) -> str:
    return tf.function(fn, jit_compile=True).experimental_get_compiler_ir(*args)(stage="optimized_hlo")


def test_counts_a_product_once_per_loop_trip():
    w = tf.random.normal((24, 40))

    def scan(xs):  # 7 steps of (5 × 24) @ (24 × 40), then one (5 × 40) @ (40 × 24) outside the loop
        ys = tf.scan(lambda h, x: tf.tanh(tf.matmul(x, w)), xs, initializer=tf.zeros((5, 40)))
        return tf.matmul(ys[-1], tf.transpose(w))

    parts = flops.count_flops(_hlo(scan, tf.random.normal((7, 5, 24))))
    assert parts["total"] == 7 * 2 * 5 * 24 * 40 + 2 * 5 * 40 * 24
    assert parts["observe loop, forward"] == 7 * 2 * 5 * 24 * 40


def test_counts_the_larger_branch_and_gradients():
    a, b = tf.random.normal((16, 32)), tf.random.normal((32, 64))

    def step(flag, x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.cond(flag, lambda: tf.matmul(tf.matmul(x, b), tf.transpose(b)), lambda: x * 2.0)
            loss = tf.reduce_sum(tf.matmul(y, tf.transpose(a)))
        return loss, tape.gradient(loss, x)

    parts = flops.count_flops(_hlo(step, tf.constant(True), a))
    # the true branch: two products forward; outside it one forward (16x32 by 32x16) and, for the
    # gradient of x, one back through it and two back through the branch
    forward_branch = 2 * 16 * 32 * 64 * 2
    assert parts.get("actor-critic, forward", 0) == forward_branch
    assert parts.get("actor-critic, backward", 0) == forward_branch
    assert parts["total"] == 2 * forward_branch + 2 * (2 * 16 * 32 * 16)
