// --key-file authentication of probes and replies (shared/wire/probe-auth.ts): flag AUTH and
// HMAC-SHA256(key, every byte before the tag) truncated to 16 bytes in the datagram's last 16.
// OpenSSL comes from the Node binary itself, which exports its libcrypto symbols.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

struct evp_mac_ctx_st;

namespace rtprobe {

constexpr size_t kAuthTagBytes = 16;
constexpr uint16_t kFlagAuth = 0b1'0000;

enum class AuthCheck : uint8_t { kGenuine, kUnauthenticated, kBadAuth };

// One key's HMAC context, keyed once: each tag then costs the hash of the datagram only (the
// key's inner and outer pads are not hashed again). Used by one thread at a time.
class DatagramAuth {
 public:
  explicit DatagramAuth(const std::vector<uint8_t>& key);
  ~DatagramAuth();
  DatagramAuth(const DatagramAuth&) = delete;
  DatagramAuth& operator=(const DatagramAuth&) = delete;

  // Sets flag AUTH and writes the tag; len >= 64 (the tag overlays padding).
  void Sign(uint8_t* buf, size_t len);
  // Checks a well-formed datagram's flag and tag in constant time.
  AuthCheck Check(const uint8_t* buf, size_t len);

 private:
  bool Tag(const uint8_t* buf, size_t len, uint8_t (&out)[32]);
  evp_mac_ctx_st* ctx_ = nullptr;
};

}  // namespace rtprobe
