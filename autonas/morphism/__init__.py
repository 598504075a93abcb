"""Network morphism: edits of a trained network that keep (most of) its function.

Growing edits (deeper, wider, skip connections) and regularising edits
(dropout, augmentation) preserve the function at inference; shrinking edits
(narrower, shallower, removing a skip) keep most of the weights. A child
network starts from its parent's trained function, so it needs only a few
epochs of training. Operators act on :class:`~autonas.graph.Graph`;
:func:`morph` applies them to Keras models directly.
"""

from autonas.morphism.operations import (
    GROWING,
    REGULARISING,
    SHRINKING,
    AddDropout,
    AddSkip,
    Augment,
    ConcatSkip,
    Deeper,
    Narrower,
    Operation,
    RemoveSkip,
    Shallower,
    Wider,
    apply_operations,
    candidate_operations,
    legal_operations,
    morph,
    random_morph,
    resolve_kinds,
)
from autonas.morphism.growing import (
    MAX_WIDTH,
    deeper_site,
    is_non_negative,
    to_add_skip,
    to_concat_skip,
    to_deeper,
    to_wider,
)

from autonas.morphism.regularising import to_augmented, to_dropout
from autonas.morphism.shrinking import output_change, to_narrower, to_removed_skip, to_shallower

__all__ = [
    "GROWING",
    "MAX_WIDTH",
    "REGULARISING",
    "SHRINKING",
    "AddDropout",
    "AddSkip",
    "Augment",
    "ConcatSkip",
    "Deeper",
    "Narrower",
    "Operation",
    "RemoveSkip",
    "Shallower",
    "Wider",
    "apply_operations",
    "candidate_operations",
    "deeper_site",
    "is_non_negative",
    "legal_operations",
    "morph",
    "output_change",
    "random_morph",
    "resolve_kinds",
    "to_add_skip",
    "to_augmented",
    "to_concat_skip",
    "to_deeper",
    "to_dropout",
    "to_narrower",
    "to_removed_skip",
    "to_shallower",
    "to_wider",
]
