"""Network morphism: function-preserving deeper, wider and skip-connection edits.

A child network starts from its parent's trained function, so it needs only a
few epochs of training. Operators act on :class:`~autonas.graph.Graph`;
:func:`morph` applies them to Keras models directly.
"""

from autonas.morphism.operations import (
    AddSkip,
    ConcatSkip,
    Deeper,
    Operation,
    Wider,
    apply_operations,
    candidate_operations,
    legal_operations,
    morph,
    random_morph,
)
from autonas.morphism.operators import (
    MAX_WIDTH,
    deeper_site,
    is_non_negative,
    to_add_skip,
    to_concat_skip,
    to_deeper,
    to_wider,
)

__all__ = [
    "MAX_WIDTH",
    "AddSkip",
    "ConcatSkip",
    "Deeper",
    "Operation",
    "Wider",
    "apply_operations",
    "candidate_operations",
    "deeper_site",
    "is_non_negative",
    "legal_operations",
    "morph",
    "random_morph",
    "to_add_skip",
    "to_concat_skip",
    "to_deeper",
    "to_wider",
]
