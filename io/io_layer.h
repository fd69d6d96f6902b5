// Layer guard for io/ (DESIGN.md §2): defined by y8m_io for itself and its dependents. io sits on
// the engine only: it never includes autograd, ops or models.
#pragma once
#ifndef Y8M_LAYER_IO
#error "io/ headers need the y8m_io target (DESIGN.md §2)"
#endif
