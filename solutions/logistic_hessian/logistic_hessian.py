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
# # Logistic regression: gradient, Hessian and Newton's method, by hand
#
# In this assignment you implement the logistic loss, its gradient, its Hessian
# $H = X^\top R X$ and the cheap diagonal approximation, and Newton's method built on
# them. The derivations are in the course book, chapters
# [*Logistic regression and its gradient*](../../_build/html/book/logistic.html),
# [*The Hessian XᵀRX and Newton's method*](../../_build/html/book/hessian.html) and
# [*The diagonal approximation*](../../_build/html/book/diagonal.html); the classic slips
# are collected in [*Common mistakes*](../../_build/html/book/mistakes.html), and
# [*The handwritten solution*](../../_build/html/book/homework.html) shows the homework
# solution this course grew from, slips included.
# <!-- book-address -->
#
# **How this notebook works.** Run the cells from top to bottom. Write your code where
# it says `# YOUR CODE HERE` (delete the `raise NotImplementedError()` line). The cell
# after each function is its **self-check**: it calls your function on a small data set
# of its own (never on the notebook's variables) and compares the result with values
# that follow from the definitions and with finite differences of the loss as defined
# below. It prints "passed" only when every one of its checks ran and passed; otherwise
# it stops with a message that says what looks wrong. A function that calls another of
# your functions (`newton_step` calls your gradient and Hessian, say) can only be right
# once that one is: its check then names the function to fix first. Run a self-check
# again after every change; it decides afresh each time. Passing is a good sign but not
# the grade: the grader runs more checks on inputs you do not see. You need only `numpy`
# (and `matplotlib` for the last section).
#
# **Notation.** `X` has shape `(N, m)`, one sample per row; there is no separate bias:
# the first column of `X` is all ones and plays that role. `y` has shape `(N,)` with
# entries 0 or 1, `w` has shape `(m,)`, and
#
# $$\hat y_n = \sigma(w^\top x_n),\qquad \sigma(z) = \frac{1}{1 + e^{-z}},$$
#
# $$L(w) = \sum_{n=1}^N -y_n \log \hat y_n - (1 - y_n)\log(1 - \hat y_n).$$
#
# As in [the handwritten solution](../../_build/html/book/homework.html), the loss is a
# **sum** over the data, not a mean.

# %% deletable=false editable=false nbgrader={"grade": false, "grade_id": "setup_imports", "locked": true, "schema_version": 3, "solution": false, "task": false}
import numpy as np


# %% deletable=false editable=false nbgrader={"grade": false, "grade_id": "setup_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
def make_classification(N=200, seed=0):
    """Two overlapping clouds of points in the plane: a data set no line separates.

    Returns X (N, 3), whose first column is all ones (the bias), and y (N,) in {0, 1}.
    """
    rng = np.random.default_rng(seed)
    y = (rng.random(N) < 0.5).astype(float)
    centers = np.where(y[:, None] == 1.0, [1.0, 0.5], [-0.5, -0.5])
    points = centers + rng.normal(size=(N, 2))
    return np.column_stack([np.ones(N), points]), y


X_data, y_data = make_classification()

# %% deletable=false editable=false nbgrader={"grade": false, "grade_id": "setup_checks", "locked": true, "schema_version": 3, "solution": false, "task": false}
# The self-checks that the test cells below run. The student release has the code
# itself here (numpy only); `python -m autograder release` puts it in.
from autograder.selfcheck.logistic import check


# %% [markdown]
# ## Part 1: the loss

# %% [markdown]
# ### `sigmoid(z)`
#
# $\sigma(z) = 1/(1 + e^{-z})$, elementwise, for an array `z` of any shape. It must not
# overflow: for $z = -10^4$ the textbook formula computes $e^{10^4}$, which is `inf` in
# float64, and numpy warns. Return values without a warning and without `nan` for
# $|z|$ up to $10^4$.


# %% nbgrader={"grade": false, "grade_id": "sigmoid", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sigmoid(z):
    """The logistic function, without overflow.

    Parameters
    ----------
    z : array_like, any shape

    Returns
    -------
    ndarray, same shape as ``z``
    """
    ### BEGIN SOLUTION
    z = np.asarray(z, dtype=np.float64)
    # exp(-|z|) lies in (0, 1], so it cannot overflow; for z < 0 the fraction
    # e^z / (1 + e^z) is the same number as 1 / (1 + e^-z).
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_sigmoid", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("sigmoid", sigmoid)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("sigmoid", sigmoid)
### END HIDDEN TESTS

# %% [markdown]
# ### `logistic_loss(w, X, y)`
#
# The summed cross-entropy $L(w)$ above, as a Python float. It must stay finite when
# $|Xw|$ is large, where $\hat y_n$ rounds to exactly 0 or 1 and $\log 0 = -\infty$:
# rewrite $-\log\sigma(z)$ and $-\log(1 - \sigma(z))$ so that no logarithm of 0 is
# ever taken (`np.logaddexp(0, t)` computes $\log(1 + e^t)$ safely).
# ([The handwritten solution](../../_build/html/book/homework.html) writes $\log(w^\top x)$:
# it is $\log \sigma(w^\top x)$.)


# %% nbgrader={"grade": false, "grade_id": "logistic_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def logistic_loss(w, X, y):
    """Summed cross-entropy of logistic regression.

    Parameters
    ----------
    w : (m,)
    X : (N, m)
    y : (N,)
        Labels in {0, 1}.

    Returns
    -------
    float
    """
    ### BEGIN SOLUTION
    z = np.asarray(X, dtype=np.float64) @ np.asarray(w, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    # -log sigma(z) = log(1 + e^-z) and -log(1 - sigma(z)) = log(1 + e^z): no log(0).
    return float(np.sum(y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)))
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_logistic_loss", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("logistic_loss", logistic_loss)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("logistic_loss", logistic_loss)
### END HIDDEN TESTS

# %% [markdown]
# ## Part 2: first and second derivatives

# %% [markdown]
# ### `logistic_grad(w, X, y)`
#
# The gradient $\nabla L(w)$, shape `(m,)`. The chain rule through $\sigma$ collapses
# to something short; remember that $L$ sums over the samples.
# ([The handwritten solution](../../_build/html/book/homework.html) drops the sum sign in
# its last line: the gradient has one term per sample.)


# %% nbgrader={"grade": false, "grade_id": "logistic_grad", "locked": false, "schema_version": 3, "solution": true, "task": false}
def logistic_grad(w, X, y):
    """Gradient of the summed logistic loss.

    Parameters
    ----------
    w : (m,)
    X : (N, m)
    y : (N,)

    Returns
    -------
    grad : (m,)
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    y_hat = sigmoid(X @ np.asarray(w, dtype=np.float64))
    # dL/dz_n = y_hat_n - y_n, and z_n = x_n . w: sum_n (y_hat_n - y_n) x_n.
    return X.T @ (y_hat - np.asarray(y, dtype=np.float64))
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_logistic_grad", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("logistic_grad", logistic_grad)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("logistic_grad", logistic_grad)
### END HIDDEN TESTS

# %% [markdown]
# ### `logistic_hessian(w, X)`
#
# The Hessian $H = X^\top R X$ with $R = \mathrm{diag}\big(\hat y_n(1 - \hat y_n)\big)$,
# shape `(m, m)`. It does not depend on the labels. You can build it without the
# $N\times N$ matrix $R$: scaling the rows of `X` does the same job.
# ([The handwritten solution](../../_build/html/book/homework.html)'s $H_{ij} = \sum_n \hat
# y_n(1-\hat y_n) x_i x_{nj}$ lost an index: it is $\sum_n \hat y_n(1-\hat y_n) X_{ni}
# X_{nj}$.)


# %% nbgrader={"grade": false, "grade_id": "logistic_hessian", "locked": false, "schema_version": 3, "solution": true, "task": false}
def logistic_hessian(w, X):
    """Hessian of the summed logistic loss, ``X.T R X``.

    Parameters
    ----------
    w : (m,)
    X : (N, m)

    Returns
    -------
    H : (m, m)
        Symmetric positive semi-definite.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    y_hat = sigmoid(X @ np.asarray(w, dtype=np.float64))
    r = y_hat * (1.0 - y_hat)  # the diagonal of R, shape (N,)
    # r[:, None] * X scales row n by r_n: that is R @ X without the N x N matrix.
    return X.T @ (r[:, None] * X)
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_logistic_hessian", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("logistic_hessian", logistic_hessian)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("logistic_hessian", logistic_hessian)
### END HIDDEN TESTS

# %% [markdown]
# ### `hessian_diagonal(w, X)`
#
# Only the diagonal of $H$: $H_{ii} = \sum_n \hat y_n(1 - \hat y_n) X_{ni}^2$, shape
# `(m,)`, **without** forming the $m \times m$ matrix (with a million features, $H$
# would not fit in memory, but its diagonal does).


# %% nbgrader={"grade": false, "grade_id": "hessian_diagonal", "locked": false, "schema_version": 3, "solution": true, "task": false}
def hessian_diagonal(w, X):
    """Diagonal of the Hessian in O(N m) time and memory.

    Parameters
    ----------
    w : (m,)
    X : (N, m)

    Returns
    -------
    h : (m,)
        ``h[i] = sum_n y_hat_n (1 - y_hat_n) X[n, i]**2``.
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=np.float64)
    y_hat = sigmoid(X @ np.asarray(w, dtype=np.float64))
    # (N,) @ (N, m): a weighted sum of the squared entries of each column.
    return (y_hat * (1.0 - y_hat)) @ (X * X)
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_hessian_diagonal", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("hessian_diagonal", hessian_diagonal)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("hessian_diagonal", hessian_diagonal)
### END HIDDEN TESTS

# %% [markdown]
# ## Part 3: Newton's method

# %% [markdown]
# ### `newton_step(w, X, y)`
#
# One Newton (IRLS) step $w_{\text{new}} = w - H^{-1}\nabla L(w)$, shape `(m,)`.
# Do not invert $H$: solve the linear system $H s = \nabla L(w)$ with
# `np.linalg.solve` (cheaper and more accurate), then step. Do not change `w` in place.


# %% nbgrader={"grade": false, "grade_id": "newton_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def newton_step(w, X, y):
    """One Newton step on the summed logistic loss.

    Parameters
    ----------
    w : (m,)
    X : (N, m)
    y : (N,)

    Returns
    -------
    w_new : (m,)
    """
    ### BEGIN SOLUTION
    w = np.asarray(w, dtype=np.float64)
    # Solving H s = grad is cheaper and better conditioned than forming H^{-1}.
    step = np.linalg.solve(logistic_hessian(w, X), logistic_grad(w, X, y))
    return w - step
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_newton_step", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("newton_step", newton_step)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("newton_step", newton_step)
### END HIDDEN TESTS

# %% [markdown]
# ### `fit_newton(X, y, tol=1e-10, max_iter=50)`
#
# Start from $w = 0$ and take Newton steps until the largest entry of the step,
# $\max_i |w_{\text{new},i} - w_i|$, is below `tol`, or `max_iter` steps were taken;
# return the last `w`, shape `(m,)`. (On separable data the minimum does not exist and
# $w$ grows without bound; the data here overlap.)


# %% nbgrader={"grade": false, "grade_id": "fit_newton", "locked": false, "schema_version": 3, "solution": true, "task": false}
def fit_newton(X, y, tol=1e-10, max_iter=50):
    """Logistic regression fitted by Newton's method from ``w = 0``.

    Parameters
    ----------
    X : (N, m)
    y : (N,)
    tol : float
        Stop when the step's largest entry is below ``tol``.
    max_iter : int
        At most this many Newton steps.

    Returns
    -------
    w : (m,)
    """
    ### BEGIN SOLUTION
    w = np.zeros(np.shape(X)[1])
    for _ in range(max_iter):
        w_new = newton_step(w, X, y)
        small = np.max(np.abs(w_new - w)) < tol
        w = w_new
        if small:
            break
    return w
    ### END SOLUTION


# %% deletable=false editable=false nbgrader={"grade": true, "grade_id": "test_fit_newton", "locked": true, "schema_version": 3, "solution": false, "task": false}
check("fit_newton", fit_newton)
# The grader adds its own checks here, on inputs you do not see.


### BEGIN HIDDEN TESTS
from autograder.nbgrader_hook import hidden_test
hidden_test("fit_newton", fit_newton)
### END HIDDEN TESTS

# %% [markdown]
# ## Part 4: in your own words (graded by hand)

# %% [markdown]
# **Question.** Prove that $H = X^\top R X$ is positive semi-definite for
# every $w$, and say what that means for the logistic loss as a function of $w$.

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_psd", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
# For any $v \in \mathbb R^m$,
# $v^\top H v = (Xv)^\top R (Xv) = \sum_n \hat y_n (1 - \hat y_n) (x_n^\top v)^2$.
# Every weight $\hat y_n(1-\hat y_n)$ lies in $(0, \tfrac14]$ and every square is
# $\ge 0$, so $v^\top H v \ge 0$: $H$ is positive semi-definite. A twice
# differentiable function whose Hessian is positive semi-definite everywhere is
# convex, so the logistic loss has no local minima other than global ones, and a
# Newton step is a descent direction whenever $H$ is invertible (when $X$ has full
# column rank, $H$ is even positive definite and the minimiser, if it exists, is
# unique).

# %% [markdown]
# **Question.** When is the diagonal approximation exact, that is, when
# is $H$ equal to the diagonal matrix with entries $H_{ii}$? Give a condition on the
# data and an example.

# %% [markdown] nbgrader={"grade": true, "grade_id": "answer_diagonal_exact", "locked": false, "points": 1, "schema_version": 3, "solution": true, "task": false}
# Exactly when every off-diagonal entry $H_{ij} = \sum_n \hat y_n(1-\hat y_n)
# X_{ni} X_{nj}$, $i \ne j$, is zero: the columns of $X$ are orthogonal in the inner
# product weighted by $r_n = \hat y_n(1-\hat y_n)$. Since all $r_n > 0$, this holds for
# every $w$ when no sample has two non-zero features, for example one-hot (indicator)
# features for disjoint groups, and trivially when $m = 1$.

# %% [markdown] tags=["demo"]
# ## Part 5 (not graded): Newton versus gradient descent
#
# Both methods start at $w = 0$ on the data set above. Gradient descent uses the step
# $1/\lambda_{\max}$ where $\lambda_{\max}$ bounds the curvature ($H \preceq
# \tfrac14 X^\top X$); Newton's method uses your `newton_step`. The plot shows how far
# each is from the minimum of the loss after every iteration.

# %% tags=["demo"]
import matplotlib.pyplot as plt

try:
    X, y = X_data, y_data
    L_min = logistic_loss(fit_newton(X, y), X, y)
    w = np.zeros(X.shape[1])
    newton = [logistic_loss(w, X, y) - L_min]
    for _ in range(8):
        w = newton_step(w, X, y)
        newton.append(logistic_loss(w, X, y) - L_min)
    lr = 1.0 / (0.25 * np.linalg.eigvalsh(X.T @ X).max())
    w = np.zeros(X.shape[1])
    descent = [logistic_loss(w, X, y) - L_min]
    for _ in range(100):
        w = w - lr * logistic_grad(w, X, y)
        descent.append(logistic_loss(w, X, y) - L_min)
except NotImplementedError:
    print("Implement the functions above, then run this cell again.")
else:
    plt.figure(figsize=(6, 3.5))
    plt.semilogy(np.maximum(descent, 1e-16), label="gradient descent")
    plt.semilogy(np.maximum(newton, 1e-16), "o-", label="Newton")
    plt.xlabel("iteration")
    plt.ylabel("loss minus its minimum")
    plt.legend()
    plt.title("Newton converges quadratically, gradient descent linearly")
    plt.show()
