#pragma once

#include <chrono>

#include "options.h"

namespace pisock {

// --reconnect's waits: the first after a connection ends, doubled after each failed attempt.
inline constexpr std::chrono::seconds kFirstRetry{ 1 };
inline constexpr std::chrono::seconds kMaxRetry{ 30 };

// --listen-only: connects, prints what the server sends and nothing else, until the server
// closes (an error: pisock never asks it to). With --reconnect it connects again, after a
// wait that doubles from kFirstRetry to kMaxRetry, saying so on stderr; a connection made
// resets the wait. Returns the exit status; reasons have been printed.
int runListener(const ClientOptions &options);

// The wait after `wait`: doubled, at most kMaxRetry.
std::chrono::seconds nextRetry(std::chrono::seconds wait);

} // namespace pisock
