#pragma once

namespace pisock {

// Outcome of one non-blocking read or write; the errno goes alongside when it is Error.
enum class IoResult { Progress, WouldBlock, Eof, Error };

} // namespace pisock
