#include "daemon/bridge_url.h"

#include "tests/catch.h"

using namespace pisock;

namespace {

std::string problemOf(std::string_view text)
{
    std::string error;
    const auto url = parseBridgeUrl(text, error);
    return url ? std::string() : error;
}

} // namespace

TEST_CASE("bridge URLs give host, port, user and topic", "[bridge]")
{
    std::string error;
    auto url = parseBridgeUrl("mqtt://broker.lan/house/chat", error);
    REQUIRE(url);
    CHECK(url->host == "broker.lan");
    CHECK(url->port == 1883);
    CHECK(url->topic == "house/chat");
    CHECK(url->user.empty());
    CHECK_FALSE(url->tls);

    url = parseBridgeUrl("mqtts://pi@192.168.1.2:8884/room", error);
    REQUIRE(url);
    CHECK(url->tls);
    CHECK(url->user == "pi");
    CHECK(url->host == "192.168.1.2");
    CHECK(url->port == 8884);

    url = parseBridgeUrl("mqtts://[fd00::1]/room", error);
    REQUIRE(url);
    CHECK(url->host == "fd00::1");
    CHECK(url->port == 8883);
    url = parseBridgeUrl("mqtt://[::1]:1884/room", error);
    REQUIRE(url);
    CHECK(url->port == 1884);
}

TEST_CASE("bad bridge URLs are refused with a reason", "[bridge]")
{
    CHECK(problemOf("http://host/room").starts_with("not an MQTT URL"));
    CHECK(problemOf("mqtt://host") == "the topic is missing (mqtt://HOST/TOPIC)");
    CHECK(problemOf("mqtt://host/") == "the topic is missing (mqtt://HOST/TOPIC)");
    CHECK(problemOf("mqtt://host/a/#").find("wildcards") != std::string::npos);
    CHECK(problemOf("mqtt://host/a/+/b").find("wildcards") != std::string::npos);
    CHECK(problemOf("mqtt://host/$SYS/x").find("broker's own") != std::string::npos);
    CHECK(problemOf("mqtt://host/a//b").find("empty level") != std::string::npos);
    CHECK(problemOf("mqtt://host/a/").find("empty level") != std::string::npos);
    CHECK(problemOf("mqtt://host:0/a").find("port") != std::string::npos);
    CHECK(problemOf("mqtt://host:99999/a").find("port") != std::string::npos);
    CHECK(problemOf("mqtt://host:/a").find("port") != std::string::npos);
    CHECK(problemOf("mqtt://user:pw@host/a").find("bridge-password-file") != std::string::npos);
    CHECK(problemOf("mqtt://@host/a").find("user") != std::string::npos);
    CHECK(problemOf("mqtt://[::1/a").find("']'") != std::string::npos);
    CHECK(problemOf("mqtt://[nothost]/a").find("IPv6") != std::string::npos);
    CHECK(problemOf("mqtt://ho st/a").find("host") != std::string::npos);
    CHECK(problemOf("mqtt://host/a\nb").find("control") != std::string::npos);
    CHECK(problemOf(std::string("mqtt://host/") + std::string(201, 'a')).find("200") !=
          std::string::npos);
}

TEST_CASE("node names are one plain topic level", "[bridge]")
{
    CHECK(nodeNameProblem("kitchen-pi").empty());
    CHECK(nodeNameProblem("pi4.lan_2").empty());
    CHECK_FALSE(nodeNameProblem("").empty());
    CHECK_FALSE(nodeNameProblem("a/b").empty());
    CHECK_FALSE(nodeNameProblem("a+").empty());
    CHECK_FALSE(nodeNameProblem("a b").empty());
    CHECK_FALSE(nodeNameProblem(std::string(65, 'a')).empty());
    CHECK(defaultNodeName("raspberrypi") == "raspberrypi");
    CHECK(defaultNodeName("my pi/2") == "my-pi-2");
    CHECK(defaultNodeName("") == "pisockd");
    CHECK(defaultNodeName(std::string(80, 'x')).size() == 64);
}
