// Layer guard for engine/ (DESIGN.md §2): every engine header includes this file. The y8m_engine
// target defines Y8M_LAYER_ENGINE for itself and for everything that links it; code that does not
// link the engine cannot include its headers.
#pragma once
#ifndef Y8M_LAYER_ENGINE
#error "engine/ headers need the y8m_engine target (DESIGN.md §2)"
#endif
