#pragma once

namespace pisock {

// pisockd's exit statuses, sysexits.h values (pisockd(8) "EXIT STATUS"); pisock has its own
// (client/status.h).
enum ExitCode : int {
    kExitOk = 0,
    kExitUsage = 64, // EX_USAGE: bad command line
    kExitUnavailable = 69, // EX_UNAVAILABLE: --stats found no daemon to answer
    kExitSoftware = 70, // EX_SOFTWARE: internal error
    kExitOsErr = 71, // EX_OSERR: cannot create a socket, bind, ...
    kExitNoPerm = 77, // EX_NOPERM: --stats may not use the control socket
    kExitConfig = 78, // EX_CONFIG: bad configuration file
};

} // namespace pisock
