#include "tests/e2e/front_end.h"

#include <cstdlib>
#include <fstream>
#include <netinet/in.h>
#include <sstream>
#include <sys/socket.h>
#include <thread>

#include "tests/catch.h"

namespace pisock::test {

std::uint16_t freeLoopbackPort()
{
    const UniqueFd fd = listenLoopback();
    return localPort(fd.get());
}

std::string sourceFile(const std::string &relative)
{
    const char *root = std::getenv("PISOCK_SOURCE_ROOT");
    REQUIRE(root != nullptr);
    std::ifstream in(std::string(root) + "/" + relative, std::ios::binary);
    REQUIRE(in.good());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string replaceAll(std::string text, const std::string &from, const std::string &to)
{
    std::size_t count = 0;
    for (auto pos = text.find(from); pos != std::string::npos;
         pos = text.find(from, pos + to.size())) {
        text.replace(pos, from.size(), to);
        ++count;
    }
    INFO("replacing " << from);
    REQUIRE(count > 0);
    return text;
}

std::optional<TestCertificate> makeCertificate(const TempDir &dir)
{
    TestCertificate c{ dir.path() + "/cert.pem", dir.path() + "/key.pem",
                       dir.path() + "/combined.pem" };
    const auto made =
            runProcess({ "/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                         "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                         "-keyout", c.key, "-out", c.cert });
    if (made.status != 0) {
        skipCase("openssl req failed (package openssl), status " + std::to_string(made.status) +
                 ": " + made.err);
        return std::nullopt;
    }
    std::ifstream cert(c.cert);
    std::ifstream key(c.key);
    std::ofstream(c.combined) << cert.rdbuf() << key.rdbuf();
    return c;
}

bool FrontEnd::waitListening(std::uint16_t port, std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline && !process_.exited()) {
        UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0)
            return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

std::string haproxyCommand(const std::string &path, const std::string &command)
{
    Client c(path, 0);
    c.send(command + "\n");
    return c.readToEof(5s);
}

} // namespace pisock::test
