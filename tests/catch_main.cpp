// Catch2 v2's main(); v3 links catch2-with-main instead.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
