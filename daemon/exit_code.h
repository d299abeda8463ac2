#pragma once

namespace pisock {

// pisockd's exit statuses, sysexits.h values (pisockd(8) "EXIT STATUS"); pisock has its own
// (client/status.h).
enum ExitCode : int {
    kExitOk = 0,
    kExitUsage = 64, // EX_USAGE: bad command line
    kExitSoftware = 70, // EX_SOFTWARE: internal error
    kExitOsErr = 71, // EX_OSERR: cannot create a socket, bind, ...
    kExitConfig = 78, // EX_CONFIG: bad configuration file
};

} // namespace pisock
