// --key-file authentication of probes and replies (shared/wire/probe-auth.ts): flag AUTH and
// HMAC-SHA256(key, every byte before the tag) truncated to 16 bytes in the datagram's last 16.
// OpenSSL comes from the Node binary itself, which exports its libcrypto symbols.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rtprobe {

constexpr size_t kAuthTagBytes = 16;
constexpr uint16_t kFlagAuth = 0b1'0000;
constexpr size_t kOffFlagsForAuth = 6;

enum class AuthCheck : uint8_t { kGenuine, kUnauthenticated, kBadAuth };

// Sets flag AUTH and writes the tag; len >= 64 (the tag overlays padding).
void SignDatagram(uint8_t* buf, size_t len, const std::vector<uint8_t>& key);

// Checks a well-formed datagram's flag and tag in constant time.
AuthCheck CheckAuth(const uint8_t* buf, size_t len, const std::vector<uint8_t>& key);

}  // namespace rtprobe
