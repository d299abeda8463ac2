// TLS by termination (docs/BEHIND-A-PROXY.md): Debian's stunnel4 (protocol = proxy) and HAProxy
// (bind ... ssl crt) in front of pisockd, with a certificate made by the test, and pisock
// --tls as the client: replies come back through TLS, pisockd names the client, and the
// certificate is verified unless told otherwise.

#include <memory>
#include <regex>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "tests/catch.h"
#include "tests/e2e/front_end.h"
#include "tests/e2e/harness.h"

using namespace pisock::test;

namespace {

// Whether the program at path is there; if not, the case is reported skipped and should return.
bool installed(const char *path, const char *package)
{
    struct stat st {
    };
    if (::stat(path, &st) == 0)
        return true;
    skipCase(std::string(path) + " is missing (apt install " + package + ")");
    return false;
}

// pisock --tls with more options, to port on host.
ProcessResult tlsClient(const std::string &host, std::uint16_t port,
                        std::vector<std::string> options, const std::string &message)
{
    std::vector<std::string> argv{ clientPath(), "--tls", "--timeout", "10" };
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), { "-m", message, host, std::to_string(port) });
    return runProcess(argv);
}

// The daemon's connect line names a client that is not the proxy: "A #N: connected on L
// through proxy P (PROXY vV)" with A != P.
bool namesTheClient(const Daemon &d, const std::string &version)
{
    const std::string log = d.log();
    const auto at = log.find("(PROXY " + version + ")");
    if (at == std::string::npos)
        return false;
    const auto start = log.rfind('\n', at) + 1;
    const std::string line = log.substr(start, at - start);
    const auto client =
            line.substr(line.find("127.0.0.1:"), line.find(" #") - line.find("127.0.0.1:"));
    const auto proxy = line.substr(line.find("through proxy ") + 14);
    return !client.empty() && proxy.find(client) == std::string::npos;
}

// stunnel4 with docs/examples/stunnel.conf: TLS on front, decrypted for pisockd's ",proxy"
// listener on port; its files in dir under name. Fails the test if it does not listen.
std::unique_ptr<FrontEnd> startStunnel(const TempDir &dir, const TestCertificate &cert,
                                       std::uint16_t front, std::uint16_t port,
                                       const std::string &name)
{
    std::string config = sourceFile("docs/examples/stunnel.conf");
    config = replaceAll(config, "accept = 8443", "accept = 127.0.0.1:" + std::to_string(front));
    config = replaceAll(config, "connect = 127.0.0.1:7000",
                        "connect = 127.0.0.1:" + std::to_string(port));
    config = replaceAll(config, "cert = /etc/stunnel/pisockd.pem", "cert = " + cert.cert);
    config = replaceAll(config, "key = /etc/stunnel/pisockd.key", "key = " + cert.key);
    config = "foreground = yes\npid =\noutput = " + dir.path() + "/" + name + ".log\n" + config;
    auto stunnel = std::make_unique<FrontEnd>(
            std::vector<std::string>{ "/usr/bin/stunnel4", dir.write(name + ".conf", config) });
    REQUIRE(stunnel->waitListening(front)); // no handshake: pisockd never hears of it
    return stunnel;
}

// The port of d's first ",proxy" listener on host ("127.0.0.1", "ws:127.0.0.1"); 0 if none.
std::uint16_t proxyListenerPort(const Daemon &d, const std::string &host)
{
    const std::regex re("listening on " + host + ":([0-9]+), for clients through a proxy");
    std::smatch m;
    const std::string log = d.log();
    return std::regex_search(log, m, re) ? static_cast<std::uint16_t>(std::stoi(m[1])) : 0;
}

} // namespace

TEST_CASE("stunnel (protocol = proxy) in front: pisock --tls is answered, pisockd names it",
          "[e2e][tls][proxy]")
{
    if (!installed("/usr/bin/stunnel4", "stunnel4"))
        return;
    TempDir dir;
    const auto cert = makeCertificate(dir);
    if (!cert)
        return;
    Daemon d({ "--listen", "127.0.0.1:0,proxy", "--trusted-proxy", "127.0.0.1" }, noActivation());
    const std::uint16_t front = freeLoopbackPort();
    const auto stunnel = startStunnel(dir, *cert, front, loggedPort(d), "stunnel");

    const auto verified = tlsClient("127.0.0.1", front, { "--ca", cert->cert }, "hello");
    CHECK(verified.status == 0);
    CHECK(verified.out == "server rec: hello\n");
    CHECK(d.waitForLog("(PROXY v1)"));
    CHECK(namesTheClient(d, "v1"));
    // By name, checked against the certificate's DNS name.
    const auto byName = tlsClient("localhost", front, { "--ca", cert->cert }, "by name");
    CHECK(byName.status == 0);
    CHECK(byName.out == "server rec: by name\n");

    // Verification is on by default: the test's certificate is nobody's the system trusts.
    const auto untrusted = tlsClient("127.0.0.1", front, {}, "hello");
    CHECK(untrusted.status == 1);
    CHECK(untrusted.out.empty());
    CHECK(untrusted.err.find("is not trusted") != std::string::npos);
    CHECK(untrusted.err.find("--insecure") != std::string::npos);
    const auto insecure = tlsClient("127.0.0.1", front, { "--insecure" }, "anyway");
    CHECK(insecure.status == 0);
    CHECK(insecure.out == "server rec: anyway\n");

    // A half-close through TLS: every reply comes back, then the end.
    const auto piped = runProcess({ clientPath(), "--tls", "--ca", cert->cert, "--timeout", "10",
                                    "127.0.0.1", std::to_string(front) },
                                  "a\nb\nquit\n");
    CHECK(piped.status == 0);
    CHECK(piped.out == "server rec: a\nserver rec: b\nserver rec: quit\n");
    CHECK(d.stop() == 0);
}

TEST_CASE("HAProxy (bind ... ssl crt) in front: pisock --tls is answered, pisockd names it",
          "[e2e][tls][proxy][haproxy]")
{
    if (!installed("/usr/sbin/haproxy", "haproxy"))
        return;
    TempDir dir;
    const auto cert = makeCertificate(dir);
    if (!cert)
        return;
    Daemon d({ "--listen", "127.0.0.1:0,proxy", "--trusted-proxy", "127.0.0.1" }, noActivation());
    const auto port = std::to_string(loggedPort(d));
    const std::uint16_t front = freeLoopbackPort();
    std::string config = sourceFile("docs/examples/haproxy.cfg");
    config = replaceAll(config, "/run/haproxy/pisockd.sock", dir.path() + "/haproxy.sock");
    config = replaceAll(config, "    bind :8888\n", "");
    config = replaceAll(config, "# bind :8443 ssl crt /etc/haproxy/pisockd.pem",
                        "bind 127.0.0.1:" + std::to_string(front) + " ssl crt " + cert->combined);
    config = replaceAll(config, "127.0.0.1:7001", "127.0.0.1:" + port);
    config = replaceAll(config, "127.0.0.1:7002", "127.0.0.1:" + port); // one pisockd twice
    FrontEnd haproxy({ "/usr/sbin/haproxy", "-db", "-f", dir.write("haproxy.cfg", config) });
    REQUIRE(haproxy.waitListening(front));
    INFO(haproxy.output());

    const auto verified = tlsClient("localhost", front, { "--ca", cert->cert }, "hello");
    CHECK(verified.status == 0);
    CHECK(verified.out == "server rec: hello\n");
    CHECK(d.waitForLog("(PROXY v2)"));
    CHECK(namesTheClient(d, "v2"));
    const auto untrusted = tlsClient("localhost", front, {}, "hello");
    CHECK(untrusted.status == 1);
    CHECK(untrusted.err.find("is not trusted") != std::string::npos);
    CHECK(d.stop() == 0);
}

TEST_CASE("wss:// through stunnel to a ws: listener, and pisock --listen-only over TLS",
          "[e2e][tls][proxy][ws]")
{
    if (!installed("/usr/bin/stunnel4", "stunnel4"))
        return;
    TempDir dir;
    const auto cert = makeCertificate(dir);
    if (!cert)
        return;
    Daemon d({ "--mode", "broadcast", "--log-level", "debug", "--listen", "127.0.0.1:0", "--listen",
               "127.0.0.1:0,proxy", "--listen", "ws:127.0.0.1:0,proxy", "--trusted-proxy",
               "127.0.0.1" },
             noActivation());
    const std::uint16_t proxied = proxyListenerPort(d, "127.0.0.1");
    const std::uint16_t wsProxied = proxyListenerPort(d, "ws:127.0.0.1");
    REQUIRE(proxied != 0);
    REQUIRE(wsProxied != 0);
    const std::uint16_t wssFront = freeLoopbackPort();
    const auto wss = startStunnel(dir, *cert, wssFront, wsProxied, "wss");
    const std::uint16_t tlsFront = freeLoopbackPort(); // once the first front holds its port
    const auto tls = startStunnel(dir, *cert, tlsFront, proxied, "tls");

    // Two listeners, one through wss://, one through --tls: what a plain client says reaches
    // both, through TLS and the proxy.
    const std::string url = "wss://localhost:" + std::to_string(wssFront) + "/";
    PtyProcess wsListener({ clientPath(), "--listen-only", "--ca", cert->cert, url });
    PtyProcess tlsListener({ clientPath(), "--listen-only", "--tls", "--ca", cert->cert,
                             "localhost", std::to_string(tlsFront) });
    REQUIRE(d.waitForLog("WebSocket opened on /"));
    REQUIRE(d.waitForLog("connected on 127.0.0.1:" + std::to_string(proxied) + " through proxy"));
    Client plain(loggedPort(d));
    plain.send("hello through TLS\n");
    CHECK(wsListener.waitFor(": hello through TLS"));
    CHECK(tlsListener.waitFor(": hello through TLS"));

    // A wss:// exchange in reply to -m: a broadcast server answers nothing, so --no-replies.
    const auto sent = runProcess({ clientPath(), "--no-replies", "--timeout", "2", "--ca",
                                   cert->cert, "-m", "from wss", url });
    CHECK(sent.err.find("not trusted") == std::string::npos);
    CHECK(tlsListener.waitFor(": from wss"));
    CHECK(plain.readLine().value_or("").find(": from wss") != std::string::npos);
    // The certificate is checked for wss:// as for --tls.
    const auto untrusted = runProcess({ clientPath(), "-m", "x", "--timeout", "5", url });
    CHECK(untrusted.status == 1);
    CHECK(untrusted.err.find("is not trusted") != std::string::npos);
    CHECK(d.stop() == 0);
}
