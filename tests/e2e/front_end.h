#pragma once

// Debian's proxies in front of pisockd, for the tests of "Behind a proxy" and "TLS"
// (docs/BEHIND-A-PROXY.md): the shipped example configurations with this test's ports and
// files, a certificate made for the test, and the proxy running until the test ends.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/e2e/harness.h"

namespace pisock::test {

// A loopback port free a moment ago, for a program that binds it itself.
std::uint16_t freeLoopbackPort();

// The text of a file in the source tree (docs/examples/haproxy.cfg); fails the test if absent.
std::string sourceFile(const std::string &relative);

// Replaces every "from" in text with "to"; fails the test if there is none.
std::string replaceAll(std::string text, const std::string &from, const std::string &to);

// A self-signed certificate for localhost and 127.0.0.1, made with the openssl command:
// cert.pem, key.pem, and both in one file (HAProxy's crt). nullopt if openssl failed: the
// case is then reported skipped with the reason (skipCase()), and should return.
struct TestCertificate {
    std::string cert;
    std::string key;
    std::string combined;
};
std::optional<TestCertificate> makeCertificate(const TempDir &dir);

// A proxy run on a pseudo-terminal until destroyed (killed by PID).
class FrontEnd
{
public:
    explicit FrontEnd(const std::vector<std::string> &argv) : process_(argv) {}
    // Waits until port accepts connections, or the proxy exits.
    bool waitListening(std::uint16_t port, std::chrono::milliseconds timeout = 10s);
    [[nodiscard]] std::string output() const { return process_.output(); }

private:
    PtyProcess process_;
};

// HAProxy's runtime API at the unix socket path: what a command answers.
std::string haproxyCommand(const std::string &path, const std::string &command);

} // namespace pisock::test
