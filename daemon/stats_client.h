#pragma once

#include "settings.h"

namespace pisock {

// pisockd --stats: asks the running daemon at settings.controlSocket for its live stats
// (text, or JSON with json) and prints them to stdout. Returns the exit status: 0, or 69
// (unavailable: not running, no answer) or 77 (no permission) with a one-line reason on
// stderr.
int runStats(const Settings &settings, bool json);

} // namespace pisock
