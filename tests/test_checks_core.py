"""The shared judging machinery: plain trees, scrubbing, scores nbgrader accepts, diagnoses."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autograder.checks import (
    PARTS,
    Malformed,
    check_function,
    contract,
    draw_cases,
    judge,
    to_plain_tree,
)
from autograder.checks.text import round_score, scrub
from autograder.protocol import CallOutcome, PartRun


def test_plain_tree_keeps_the_kind_of_number():
    """Do floats stay float64, ints int64 and bools bool, in arrays, tuples and dicts?"""
    tree = to_plain_tree((1, 2.5, np.float32(3), np.arange(3), [np.eye(2)], {"a": True}))
    assert [x.dtype for x in tree[:4]] == [np.int64, np.float64, np.float64, np.int64]
    assert tree[0].shape == ()
    assert isinstance(tree[4], tuple) and tree[4][0].shape == (2, 2)
    assert tree[5]["a"].dtype == np.bool_ and tree[5]["a"].shape == ()


@pytest.mark.parametrize("value", [None, "1.0", 1j, np.array([1j]), np.array(["a"]), object()])
def test_plain_tree_refuses_what_is_not_numbers(value):
    """Are None, strings, complex numbers and objects refused with a plain message?"""
    with pytest.raises(Malformed):
        to_plain_tree(value)


def test_a_judge_reads_int_and_bool_answers_as_numbers():
    """Does an answer of ints or bools get judged by its values, not refused for its dtype?"""
    cases = draw_cases("grad_output", 0)
    as_ints = PartRun(
        "grad_output",
        [CallOutcome(value=np.zeros(c.expected["delta3"].shape, dtype=np.int64)) for c in cases],
    )
    result = judge("grad_output", cases, as_ints)
    assert result.score == 0 and result.error is None
    assert "differs from the expected values" in " ".join(result.components[0].problems)


def test_scrub_hides_real_numbers_but_keeps_shapes():
    """Can code print the hidden inputs into an error message that reaches the feedback?"""
    text = scrub("ValueError: [[ 0.1234 -1.5e-3] [2. 3.]] with shapes (5,3) (4,)")
    assert "0.1234" not in text and "1.5e-3" not in text and "2." not in text
    assert "(5,3)" in text and "(4,)" in text


@pytest.mark.parametrize("score, top", [(2 * (1 / 3 + 2 / 3), 2.0), (3.0000000000000004, 3.0)])
def test_scores_never_exceed_the_points(score, top):
    """Is floating noise above the maximum removed (nbgrader rejects a grade above it)?"""
    assert round_score(score, top) <= top


def test_backward_partial_credit_sums_to_the_points():
    """Do six thirds of a point give exactly 2, not 1.9999999?"""
    from autograder import reference as ref

    assert check_function("backward", ref.backward).score == 2.0


def test_judging_works_from_plain_outcomes_built_by_hand():
    """Can a part be judged from CallOutcome objects alone, as from the sandbox?"""
    cases = draw_cases("grad_output", 0)
    good = PartRun("grad_output", [CallOutcome(value=c.expected["delta3"]) for c in cases])
    assert judge("grad_output", cases, good).score == 1
    halved = PartRun("grad_output", [CallOutcome(value=c.expected["delta3"] / 2) for c in cases])
    result = judge("grad_output", cases, halved)
    assert result.score == 0
    assert [n for n, _ in result.diagnoses] == ["missing-factor-2"]


def test_part_level_errors_give_zero_with_the_reason():
    """Do a timeout and a crash of the part give 0 and keep the sandbox's flags?"""
    cases = draw_cases("forward", 0)
    result = judge(
        "forward", cases, PartRun("forward", error="timed out after 10 s", flags={"timeout"})
    )
    assert result.score == 0 and "timed out" in result.error and "timeout" in result.flags


def test_a_stopped_part_gets_no_credit_for_calls_that_never_ran():
    """When the sandbox stops a part half-way, are the missing calls failures?"""
    cases = draw_cases("mse_loss", 0)
    half = [CallOutcome(value=c.expected["loss"]) for c in cases[:2]]
    result = judge("mse_loss", cases, PartRun("mse_loss", half, error=None))
    assert result.score == 0


def test_nan_answers_are_wrong_not_crashes():
    """Does an answer full of nan score 0 with a finite report, rather than crash the judge?"""
    cases = draw_cases("grad_layer3", 0)
    run = PartRun(
        "grad_layer3",
        [CallOutcome(value=(c.expected["dW3"] * np.nan, c.expected["db3"])) for c in cases],
    )
    result = judge("grad_layer3", cases, run)
    assert result.score == 1
    assert "nan" in result.flags
    assert math.isinf(result.leaf_errors["dW3"])


def test_every_part_splits_its_points_into_its_components():
    """Do each part's components add up to exactly the points the contract gives it?"""
    for part in PARTS.values():
        assert abs(sum(p for p, _ in part.components.values()) - part.points) < 1e-9, part.name


def test_every_assignment_has_its_parts_in_the_contract():
    """Does each assignment of the contract have graded parts, each registered as a check?"""
    c = contract()
    for a in c.assignments:
        assert c.parts_of(a.name), a.name
        assert c.points(a.name) == sum(PARTS[p.name].points for p in c.parts_of(a.name))
    assert {p.name for p in c.parts} == set(PARTS)


def test_error_messages_from_the_sandbox_are_scrubbed():
    """Can a submission smuggle the hidden inputs out through an exception message?"""
    cases = draw_cases("grad_output", 0)
    leaked = " ".join(f"{v!r}" for v in cases[0].call.args[0])
    run = PartRun("grad_output", [CallOutcome(error=f"raised ValueError: {leaked}") for _ in cases])
    result = judge("grad_output", cases, run)
    text = result.error + " ".join(p for c in result.components for p in c.problems)
    assert repr(float(cases[0].call.args[0][0]))[:6] not in text
    assert "ValueError" in text
