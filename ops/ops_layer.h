// Layer guard for ops/ (DESIGN.md §2): defined by y8m_ops for itself and its dependents.
#pragma once
#ifndef Y8M_LAYER_OPS
#error \
    "ops/ headers need the y8m_ops target; engine/ and autograd/ must not include them (DESIGN.md §2)"
#endif
