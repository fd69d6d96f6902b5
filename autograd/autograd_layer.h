// Layer guard for autograd/ (DESIGN.md §2): defined by y8m_autograd for itself and its dependents.
#pragma once
#ifndef Y8M_LAYER_AUTOGRAD
#error \
    "autograd/ headers need the y8m_autograd target; engine/ must not include them (DESIGN.md §2)"
#endif
