#pragma once

#include <cstddef>

namespace pisock {

// The longest keepalive idle time Linux accepts (MAX_TCP_KEEPIDLE).
inline constexpr unsigned kMaxKeepaliveSec = 32767;

// Sets what every accepted TCP socket gets: TCP_NODELAY (replies go out at once) and, when
// keepaliveSec is not 0, TCP keepalive as redis does it: the first probe after keepaliveSec
// idle seconds, then one every keepaliveSec / 3 (at least 1), and the peer is declared dead
// after 3 unanswered probes, about 2 * keepaliveSec after it went silent. With 0 keepalive
// is left off. Borrows fd; returns 0 or the -errno of the first setsockopt that failed.
int tuneAcceptedSocket(int fd, unsigned keepaliveSec) noexcept;

// Raises the soft RLIMIT_NOFILE towards want, as far as the hard limit allows (redis does the
// same for maxclients); returns the soft limit now in force. Never lowers it.
std::size_t raiseFdLimit(std::size_t want) noexcept;

} // namespace pisock
