#pragma once

#include <string>

namespace pisock {

// pisock's exit statuses (README "pisock, the client"). Small numbers as nc and curl use,
// not sysexits: scripts test them with `case $?`.
enum ExitStatus : int {
    kStatusOk = 0, // every reply is in (or --raw: the server closed after our input)
    kStatusNetwork = 1, // cannot resolve or connect, connection reset, other socket errors
    kStatusUsage = 2, // bad command line
    kStatusTimeout = 3, // --timeout passed while connecting or waiting for a reply
    kStatusClosedEarly = 4, // the server closed when pisock had not asked: before every message
    // was answered, or at the prompt or listening without quit
    kStatusBadReply = 5, // pisock bench: a reply differed from what was expected
    kStatusServerError = 6, // the server sent an "error: " line: a message refused (a reply), or
    // the reason it closed the connection
};

// Why pisock stops with a non-zero status; reason is the one line printed after "pisock: ".
struct Failure {
    int status = kStatusNetwork;
    std::string reason;
};

} // namespace pisock
