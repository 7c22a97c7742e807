"""The hub's quick test of who to wake agrees with the audience rule itself."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from sessions.audience import EVERYONE, Perspective, role_token, seat_token

ROLES = ("police", "parquet", "joy", "obs")
TOKENS = st.sampled_from(
    [EVERYONE] + [role_token(r) for r in ROLES] + [seat_token(n) for n in (1, 2, 3)]
)
PERSPECTIVES = st.one_of(
    st.just(Perspective.trainer()),
    st.builds(lambda role, seat: Perspective(kind="seat", role_ident=role, seat_id=seat),
              st.sampled_from(ROLES), st.sampled_from((1, 2, 3))),
    st.builds(lambda seat: Perspective(kind="observer", role_ident="obs", seat_id=seat),
              st.sampled_from((1, 2, 3))),
)


@given(PERSPECTIVES, st.lists(st.lists(TOKENS, max_size=4), min_size=1, max_size=6))
def test_may_see_any_of_a_batch_is_sees_any_of_its_audiences(perspective, audiences):
    tokens = frozenset(token for audience in audiences for token in audience)
    assert perspective.may_see_any(tokens) == any(perspective.sees(a) for a in audiences)


@given(PERSPECTIVES, st.lists(TOKENS, max_size=4))
def test_role_sees_is_sees_without_the_seats_own_token(perspective, audience):
    assert perspective.role_sees(audience) == replace(perspective, seat_id=None).sees(audience)
