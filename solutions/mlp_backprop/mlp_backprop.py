# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Backpropagation through a 3-layer MLP, by hand
#
# In this assignment you implement, one function at a time, the forward pass, the mean
# squared error and every gradient of the course's 3-layer perceptron, and the finite
# differences that check them. The derivations are in the course book, chapters
# [*The 3-layer MLP and 1-Lipschitz activations*](../../_build/html/book/mlp.html),
# [*Backpropagation*](../../_build/html/book/backprop.html),
# [*Gradient checking*](../../_build/html/book/gradient_check.html) and
# [*What 1-Lipschitz buys*](../../_build/html/book/lipschitz.html); the classic slips are
# collected in [*Common mistakes*](../../_build/html/book/mistakes.html), and
# [*The handwritten solution*](../../_build/html/book/homework.html) shows the homework
# solution this course grew from, slips included.
# <!-- book-address -->
#
# **How this notebook works.** Run the cells from top to bottom. Write your code where
# it says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line). The cell
# right after each function is its **self-check**: it calls your function on small
# inputs of its own (never on the notebook's variables) and compares the result with
# values that follow from the definitions and with finite differences of the network
# and the loss as defined below. It prints "passed" only when every one of its checks
# ran and passed; otherwise it stops with a message that says what looks wrong. A
# function that calls another of your functions (`backward` does) can only be right
# once that one is: its check then names the function to fix first. Run a self-check
# again after every change; it decides afresh each time. Passing is a good sign but not
# the grade: the grader runs more checks on inputs you do not see. You need only `numpy`
# (and `matplotlib` for the last section).
#
# **Notation** (a batch is row-major, one sample per row):
#
# | name | shape | | name | shape |
# |---|---|---|---|---|
# | `X` | `(N, m)` | | `y`, `y_hat` | `(N,)` |
# | `W1` | `(m, d1)` | | `b1` | `(d1,)` |
# | `W2` | `(d1, d2)` | | `b2` | `(d2,)` |
# | `W3` | `(d2,)` | | `b3` | a number |
# | `Z1`, `H1` | `(N, d1)` | | `Z2`, `H2` | `(N, d2)` |
#
# $$Z_1 = X W_1 + b_1,\quad H_1 = g(Z_1),\quad Z_2 = H_1 W_2 + b_2,\quad
# H_2 = g(Z_2),\quad \hat y = H_2 W_3 + b_3,$$
#
# $$L = \frac1N \sum_{n=1}^N (y_n - \hat y_n)^2 .$$
#
# `params` is a dict with keys `"W1", "b1", "W2", "b2", "W3", "b3"`; a gradient dict has
# the same keys, each gradient with the shape of its parameter. The activation `g` is an
# object with `g.f(Z)` (the function) and `g.df(Z)` (its derivative), both elementwise;
# your code must work for every activation below, so call only `g.f` and `g.df`. (The
# grader also uses softplus, $g(z) = \log(1 + e^z)$. It is not provided here: its
# derivative is the logistic sigmoid, which the other assignment asks you to write.)

# %% deletable=false editable=false nbgrader={"grade": false, "grade_id": "setup_imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np

# %% deletable=false editable=false nbgrader={"grade": false, "grade_id": "setup_activations", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The activations g (objects with g.f and g.df). The student release has their code
# here; `python -m autograder release` puts it in.
from autograder.selfcheck.activations import (
    ACTIVATIONS,
    Activation,
    identity,
    leaky_relu,
    relu,
    tanh,
)

# %% deletable=false editable=false nbgrader={"grade": false, "grade_id": "setup_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
# Parameters and toy data for the last section.


def make_params(m, d1, d2, seed=0):
    """Random parameters: W1 (m, d1), b1 (d1,), W2 (d1, d2), b2 (d2,), W3 (d2,), b3 float."""
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(0.0, 1.0 / np.sqrt(m), (m, d1)),
        "b1": rng.normal(0.0, 0.1, d1),
        "W2": rng.normal(0.0, 1.0 / np.sqrt(d1), (d1, d2)),
        "b2": rng.normal(0.0, 0.1, d2),
        "W3": rng.normal(0.0, 1.0 / np.sqrt(d2), d2),
        "b3": float(rng.normal(0.0, 0.1)),
    }


# Toy regression data for the last section: a noisy sine curve on [-3, 3].
_rng = np.random.default_rng(2705)
x_toy = np.linspace(-3.0, 3.0, 64).reshape(-1, 1)
y_toy = np.sin(x_toy[:, 0]) + 0.1 * _rng.normal(size=64)

# %% deletable=false editable=false nbgrader={"grade": false, "grade_id": "setup_checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The self-checks that the test cells below run. The student release has the code
# itself here (numpy only); `python -m autograder release` puts it in.
from autograder.selfcheck.mlp import check


# %% [markdown]
# ## Part 1: the tools that check your derivations
#
# Before deriving anything, build the witness: a gradient computed without calculus.
# Once it works, you can check any gradient you derive, here and later in the course.
# (The self-checks below use finite differences of their own, so a slip here costs this
# part only.)

# %% [markdown]
# ### `numerical_gradient(f, theta, eps=1e-6)`
#
# `f` takes an array shaped like `theta` and returns a number. Return an array shaped
# like `theta` whose entry `i` is the **central difference**
#
# $$\frac{f(\theta + \varepsilon e_i) - f(\theta - \varepsilon e_i)}{2\varepsilon},$$
#
# where $e_i$ is 1 at entry `i` and 0 elsewhere. `theta` may have any shape (a vector, a
# matrix). Leave `theta` exactly as it was: the caller's array must not change. Work in
# float64.


# %% nbgrader={"grade": false, "grade_id": "numerical_gradient", "locked": false, "schema_version": 3, "solution": true, "task": false}
def numerical_gradient(f, theta, eps=1e-6):
    """Central-difference gradient of a scalar function.

    Parameters
    ----------
    f : callable
        ``f(theta) -> float``.
    theta : array_like, any shape
        The point; it is not modified.
    eps : float
        The step.

    Returns
    -------
    grad : ndarray, shape of ``theta``
    """
    ### BEGIN SOLUTION
    # Perturb a float64 copy, so the caller's theta never changes.
    work = np.array(theta, dtype=np.float64)
    grad = np.zeros_like(work)
    flat, gflat = work.reshape(-1), grad.reshape(-1)  # views: writes reach work, grad
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        f_plus = float(f(work))
        flat[i] = old - eps
        f_minus = float(f(work))
        flat[i] = old  # restore before moving to the next entry
        gflat[i] = (f_plus - f_minus) / (2.0 * eps)
    return grad
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_numerical_gradient", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("numerical_gradient", numerical_gradient)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("numerical_gradient", numerical_gradient)
### END HIDDEN TESTS

# %% [markdown]
# ### `relative_error(a, b)`
#
# Two arrays of the same shape agree when their difference is small *compared with
# their size*. Return the number
#
# $$\frac{\max_i |a_i - b_i|}{\max\left(10^{-12},\ \max_i |a_i| + \max_i |b_i|\right)}$$
#
# as a Python float. The floor $10^{-12}$ makes two zero arrays compare as equal
# instead of giving 0/0. A correct gradient against central differences gives about
# $10^{-9}$ or less; a wrong one gives something of order 1.


# %% nbgrader={"grade": false, "grade_id": "relative_error", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relative_error(a, b):
    """Scale-free distance between two arrays of the same shape.

    Parameters
    ----------
    a, b : array_like, same shape

    Returns
    -------
    float
        ``max|a - b| / max(1e-12, max|a| + max|b|)``.
    """
    ### BEGIN SOLUTION
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    # The floor keeps 0 / 0 away when both arrays are zero.
    scale = max(1e-12, float(np.max(np.abs(a)) + np.max(np.abs(b))))
    return float(np.max(np.abs(a - b)) / scale)
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_relative_error", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("relative_error", relative_error)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("relative_error", relative_error)
### END HIDDEN TESTS

# %% [markdown]
# ## Part 2: the forward pass and the loss

# %% [markdown]
# ### `forward(X, params, g)`
#
# Compute the network's output on a batch and keep the intermediate values for the
# backward pass:
# `Z1 = X @ W1 + b1`, `H1 = g.f(Z1)`, `Z2 = H1 @ W2 + b2`, `H2 = g.f(Z2)`,
# `y_hat = H2 @ W3 + b3`.
#
# Return the tuple `(y_hat, cache)`: `y_hat` of shape `(N,)`, and `cache` a dict with
# keys `"Z1", "H1"` (shape `(N, d1)`) and `"Z2", "H2"` (shape `(N, d2)`).
#
# ([The handwritten solution](../../_build/html/book/homework.html) first writes `h2 =
# g(W2ᵀx + b2)`: the second layer takes `h1`, not `x`.)


# %% nbgrader={"grade": false, "grade_id": "forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def forward(X, params, g):
    """Forward pass of the 3-layer MLP on a batch.

    Parameters
    ----------
    X : (N, m)
        One sample per row.
    params : dict
        ``W1 : (m, d1)``, ``b1 : (d1,)``, ``W2 : (d1, d2)``, ``b2 : (d2,)``,
        ``W3 : (d2,)``, ``b3 : float``.
    g : Activation
        Call ``g.f`` only.

    Returns
    -------
    y_hat : (N,)
    cache : dict
        ``Z1, H1 : (N, d1)`` and ``Z2, H2 : (N, d2)``.
    """
    ### BEGIN SOLUTION
    Z1 = X @ params["W1"] + params["b1"]  # (N, d1); b1 broadcasts over the rows
    H1 = g.f(Z1)
    Z2 = H1 @ params["W2"] + params["b2"]  # the second layer takes H1, not X
    H2 = g.f(Z2)
    y_hat = H2 @ params["W3"] + params["b3"]  # (N, d2) @ (d2,) -> (N,)
    return y_hat, {"Z1": Z1, "H1": H1, "Z2": Z2, "H2": H2}
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_forward", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("forward", forward)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("forward", forward)
### END HIDDEN TESTS

# %% [markdown]
# ### `mse_loss(y_hat, y)`
#
# The mean squared error $L = \frac1N \sum_n (y_n - \hat y_n)^2$, returned as a
# Python float. Both arguments have shape `(N,)`.


# %% nbgrader={"grade": false, "grade_id": "mse_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mse_loss(y_hat, y):
    """Mean squared error.

    Parameters
    ----------
    y_hat, y : (N,)

    Returns
    -------
    float
    """
    ### BEGIN SOLUTION
    r = np.asarray(y_hat, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    return float(np.mean(r**2))  # the mean: the 1/N is part of the loss
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_mse_loss", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("mse_loss", mse_loss)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("mse_loss", mse_loss)
### END HIDDEN TESTS

# %% [markdown]
# ## Part 3: backpropagation, one layer at a time
#
# Each function below receives the error backpropagated from the layer above and
# returns the gradients of its own parameters, plus the error to pass further down.
# The self-checks give each function an *arbitrary* upstream error `delta`: whatever
# `delta` is, your gradients must be those of $\sum \delta \odot (\text{layer
# output})$, and that is what finite differences check.

# %% [markdown]
# ### `grad_output(y_hat, y)`
#
# The error at the output, $\delta_3 = \partial L / \partial \hat y$, of shape
# `(N,)`, for the mean squared error above.
# ([The handwritten solution](../../_build/html/book/homework.html) works with one sample
# and drops the $1/N$ of the mean: the batch gradient needs it.)


# %% nbgrader={"grade": false, "grade_id": "grad_output", "locked": false, "schema_version": 3, "solution": true, "task": false}
def grad_output(y_hat, y):
    """Backpropagated error at the output, ``dL/dy_hat``.

    Parameters
    ----------
    y_hat, y : (N,)

    Returns
    -------
    delta3 : (N,)
    """
    ### BEGIN SOLUTION
    y_hat = np.asarray(y_hat, dtype=np.float64)
    # 2 from differentiating the square, 1/N from the mean.
    return 2.0 * (y_hat - np.asarray(y, dtype=np.float64)) / y_hat.shape[0]
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_grad_output", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("grad_output", grad_output)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("grad_output", grad_output)
### END HIDDEN TESTS

# %% [markdown]
# ### `grad_layer3(delta3, cache)`
#
# The gradients of the output layer, given $\delta_3$ `(N,)` and the cache from
# `forward` (use `cache["H2"]`, shape `(N, d2)`): return `(dW3, db3)` with
# `dW3` of shape `(d2,)` (the shape of `W3`) and `db3` a number.
# Every sample contributes to the gradient of a shared parameter: sum over the batch.


# %% nbgrader={"grade": false, "grade_id": "grad_layer3", "locked": false, "schema_version": 3, "solution": true, "task": false}
def grad_layer3(delta3, cache):
    """Gradients of the output layer.

    Parameters
    ----------
    delta3 : (N,)
        ``dL/dy_hat``.
    cache : dict
        From ``forward``; uses ``H2 : (N, d2)``.

    Returns
    -------
    dW3 : (d2,)
    db3 : float
    """
    ### BEGIN SOLUTION
    delta3 = np.asarray(delta3, dtype=np.float64)
    # y_hat_n = H2[n] . W3 + b3: each sample's error times its H2 row, summed over n.
    dW3 = cache["H2"].T @ delta3
    db3 = float(np.sum(delta3))  # b3 is shared by all samples
    return dW3, db3
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_grad_layer3", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("grad_layer3", grad_layer3)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("grad_layer3", grad_layer3)
### END HIDDEN TESTS

# %% [markdown]
# ### `grad_layer2(delta3, cache, params, g)`
#
# Push the error through the output weights and the activation of the second layer:
# $\delta_2 = \partial L / \partial Z_2$ of shape `(N, d2)` (for one sample,
# $\delta_3$ times $W_3$, elementwise times $g'(z_2)$), then the gradients of the
# second layer. Return `(dW2, db2, delta2)` with shapes `(d1, d2)`, `(d2,)`,
# `(N, d2)`. Use `cache["H1"]`, `cache["Z2"]`, `params["W3"]` and `g.df`.


# %% nbgrader={"grade": false, "grade_id": "grad_layer2", "locked": false, "schema_version": 3, "solution": true, "task": false}
def grad_layer2(delta3, cache, params, g):
    """Gradients of the second hidden layer, and the error below it.

    Parameters
    ----------
    delta3 : (N,)
        ``dL/dy_hat``.
    cache : dict
        From ``forward``; uses ``H1 : (N, d1)`` and ``Z2 : (N, d2)``.
    params : dict
        Uses ``W3 : (d2,)``.
    g : Activation
        Call ``g.df`` only.

    Returns
    -------
    dW2 : (d1, d2)
    db2 : (d2,)
    delta2 : (N, d2)
        ``dL/dZ2``.
    """
    ### BEGIN SOLUTION
    delta3 = np.asarray(delta3, dtype=np.float64)
    # Row n: delta3_n * W3, then through the activation: times g'(Z2) elementwise.
    delta2 = np.outer(delta3, params["W3"]) * g.df(cache["Z2"])
    dW2 = cache["H1"].T @ delta2  # (d1, N) @ (N, d2): summed over the batch
    db2 = delta2.sum(axis=0)
    return dW2, db2, delta2
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_grad_layer2", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("grad_layer2", grad_layer2)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("grad_layer2", grad_layer2)
### END HIDDEN TESTS

# %% [markdown]
# ### `grad_layer1(delta2, X, cache, params, g)`
#
# The same step one layer down: from $\delta_2$ `(N, d2)` compute
# $\delta_1 = \partial L / \partial Z_1$ of shape `(N, d1)` (through `W2`, then
# through $g'(Z_1)$), and the first layer's gradients. Return `(dW1, db1, delta1)` with
# shapes `(m, d1)`, `(d1,)`, `(N, d1)`.
# ([The handwritten solution](../../_build/html/book/homework.html) writes
# $\partial z_2/\partial b_2 \cdot \partial b_2/\partial h_1$ in
# this chain; the right factor is $\partial z_2/\partial h_1$, that is $W_2$.)


# %% nbgrader={"grade": false, "grade_id": "grad_layer1", "locked": false, "schema_version": 3, "solution": true, "task": false}
def grad_layer1(delta2, X, cache, params, g):
    """Gradients of the first hidden layer, and the error at its pre-activation.

    Parameters
    ----------
    delta2 : (N, d2)
        ``dL/dZ2``.
    X : (N, m)
    cache : dict
        From ``forward``; uses ``Z1 : (N, d1)``.
    params : dict
        Uses ``W2 : (d1, d2)``.
    g : Activation
        Call ``g.df`` only.

    Returns
    -------
    dW1 : (m, d1)
    db1 : (d1,)
    delta1 : (N, d1)
        ``dL/dZ1``.
    """
    ### BEGIN SOLUTION
    delta2 = np.asarray(delta2, dtype=np.float64)
    # dZ2/dH1 is W2: (N, d2) @ (d2, d1), then through the activation of layer 1.
    delta1 = (delta2 @ params["W2"].T) * g.df(cache["Z1"])
    dW1 = np.asarray(X, dtype=np.float64).T @ delta1  # (m, N) @ (N, d1)
    db1 = delta1.sum(axis=0)
    return dW1, db1, delta1
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_grad_layer1", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("grad_layer1", grad_layer1)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("grad_layer1", grad_layer1)
### END HIDDEN TESTS

# %% [markdown]
# ### `backward(X, y, params, g)`
#
# Put it together: run `forward`, then the four functions above from the top down, and
# return the dict of all six gradients, keys `"W1", "b1", "W2", "b2", "W3", "b3"`,
# each with the shape of its parameter.


# %% nbgrader={"grade": false, "grade_id": "backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def backward(X, y, params, g):
    """All gradients of the mean squared error with respect to the parameters.

    Parameters
    ----------
    X : (N, m)
    y : (N,)
    params : dict
        As in ``forward``.
    g : Activation

    Returns
    -------
    grads : dict
        ``W1 : (m, d1)``, ``b1 : (d1,)``, ``W2 : (d1, d2)``, ``b2 : (d2,)``,
        ``W3 : (d2,)``, ``b3 : float``.
    """
    ### BEGIN SOLUTION
    y_hat, cache = forward(X, params, g)
    delta3 = grad_output(y_hat, y)
    dW3, db3 = grad_layer3(delta3, cache)
    dW2, db2, delta2 = grad_layer2(delta3, cache, params, g)
    dW1, db1, _ = grad_layer1(delta2, X, cache, params, g)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2, "W3": dW3, "b3": db3}
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_backward", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("backward", backward)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("backward", backward)
### END HIDDEN TESTS

# %% [markdown]
# ## Part 4: in your own words (graded by hand)

# %% [markdown]
# **Question.** [The handwritten solution](../../_build/html/book/homework.html) derives
# $\partial L/\partial b_3 = 2(\hat y - y)$ for
# a single sample. Write the gradient of the *batch* loss
# $L = \frac1N\sum_n (y_n - \hat y_n)^2$ with respect to $b_3$, say where the
# $\frac1N$ comes from, and explain what happens to gradient descent with a fixed
# learning rate if you drop it and then double the batch size.

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_one_over_n", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# $\partial L/\partial b_3 = \frac2N \sum_n (\hat y_n - y_n)$. The loss is a mean, and
# differentiation is linear, so the gradient of the mean is the mean of the per-sample
# gradients: the $\frac1N$ of the loss stays in front of the sum. Without it the
# "gradient" is $N$ times the true one and grows with the batch: doubling the batch
# doubles every step, so a learning rate tuned for one batch size overshoots (and can
# diverge) for a larger one. With the $\frac1N$ the step size does not depend on $N$.

# %% [markdown]
# **Question.** The activation $g$ is 1-Lipschitz. Explain why
# $|g'(z)| \le 1$ wherever the derivative exists, and use it to show
# $\|\delta_2\|_F \le \|\delta_3\|_2\, \|W_3\|_2$. What does this say about the
# activation's role when gradients flow backwards through the network?

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_lipschitz", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# $g'(z) = \lim_{h\to0} (g(z+h) - g(z))/h$ and every quotient has absolute value at most
# $|h|/|h| = 1$ by the Lipschitz bound, so the limit does too.
# Entry $(n, j)$ of $\delta_2$ is $\delta_{3,n} W_{3,j}\, g'(Z_{2,nj})$, so its square is
# at most $\delta_{3,n}^2 W_{3,j}^2$; summing over $n$ and $j$ gives
# $\|\delta_2\|_F^2 \le \sum_n \delta_{3,n}^2 \sum_j W_{3,j}^2 =
# \|\delta_3\|^2 \|W_3\|^2$. A 1-Lipschitz activation can only shrink the
# backpropagated error (ReLU zeroes it where the unit is off); any growth comes from
# the weights, which is where exploding gradients must be controlled.

# %% [markdown] tags=["demo"]
# ## Part 5 (not graded): train the network with your own `backward`
#
# Gradient descent on the toy data (a noisy sine curve), with your `forward`,
# `mse_loss` and `backward`. If your gradients are right, the loss goes down and the
# network's curve follows the data.

# %% tags=["demo"]
import matplotlib.pyplot as plt

try:
    params = make_params(1, 16, 16, seed=0)
    losses = [mse_loss(forward(x_toy, params, tanh)[0], y_toy)]
    for _ in range(5000):
        grads = backward(x_toy, y_toy, params, tanh)
        # A step small enough for plain gradient descent to go down steadily.
        params = {k: params[k] - 0.02 * grads[k] for k in params}
        losses.append(mse_loss(forward(x_toy, params, tanh)[0], y_toy))
except NotImplementedError:
    print("Implement forward, mse_loss and backward above, then run this cell again.")
else:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax1.semilogy(losses)
    ax1.set_xlabel("gradient step")
    ax1.set_ylabel("mean squared error")
    ax1.set_title("Training loss")
    ax2.plot(x_toy[:, 0], y_toy, ".", label="data")
    ax2.plot(x_toy[:, 0], forward(x_toy, params, tanh)[0], label="network")
    ax2.legend()
    ax2.set_title("The fitted curve")
    plt.show()
    print(f"loss: {losses[0]:.3f} at the start, {losses[-1]:.4f} after {len(losses) - 1} steps")
