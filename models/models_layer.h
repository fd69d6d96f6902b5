// Layer guard for models/ (DESIGN.md §2): defined by y8m_models for itself and its dependents.
#pragma once
#ifndef Y8M_LAYER_MODELS
#error \
    "models/ headers need the y8m_models target; lower layers must not include them (DESIGN.md §2)"
#endif
