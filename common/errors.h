#pragma once

#include <string>

namespace pisock {

// Outcome of one non-blocking read or write; the errno goes alongside when it is Error.
enum class IoResult { Progress, WouldBlock, Eof, Error };

// Exit statuses shared by pisockd and pisock (sysexits.h values where one fits).
enum ExitCode : int {
    kExitOk = 0,
    kExitFailure = 1,
    kExitUsage = 64, // EX_USAGE: bad command line
    kExitDataErr = 65, // EX_DATAERR
    kExitNoHost = 68, // EX_NOHOST
    kExitUnavailable = 69,
    kExitSoftware = 70, // EX_SOFTWARE: internal error
    kExitOsErr = 71, // EX_OSERR: cannot create a socket, bind, ...
    kExitConfig = 78, // EX_CONFIG: bad configuration file
};

// The text of an errno value ("Connection refused"); never fails, never allocates a buffer
// the caller must free.
std::string errnoText(int err);

} // namespace pisock
