#include "probe_auth.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <stdexcept>

namespace rtprobe {
namespace {

constexpr size_t kOffFlags = 6;

}  // namespace

DatagramAuth::DatagramAuth(const std::vector<uint8_t>& key) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) throw std::runtime_error("OpenSSL has no HMAC");
  ctx_ = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context holds its own reference
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (ctx_ == nullptr || EVP_MAC_init(ctx_, key.data(), key.size(), params) != 1) {
    EVP_MAC_CTX_free(ctx_);
    throw std::runtime_error("HMAC-SHA256 could not be keyed");
  }
}

DatagramAuth::~DatagramAuth() { EVP_MAC_CTX_free(ctx_); }

bool DatagramAuth::Tag(const uint8_t* buf, size_t len, uint8_t (&out)[32]) {
  size_t outLen = 0;
  // A null key restarts the MAC with the key set in the constructor.
  return EVP_MAC_init(ctx_, nullptr, 0, nullptr) == 1 &&
         EVP_MAC_update(ctx_, buf, len - kAuthTagBytes) == 1 &&
         EVP_MAC_final(ctx_, out, &outLen, sizeof out) == 1 && outLen == sizeof out;
}

void DatagramAuth::Sign(uint8_t* buf, size_t len) {
  buf[kOffFlags] |= uint8_t(kFlagAuth >> 8);
  buf[kOffFlags + 1] |= uint8_t(kFlagAuth & 0xff);
  uint8_t tag[32] = {0};
  Tag(buf, len, tag);  // cannot fail once keyed; a zero tag would be refused by the peer
  for (size_t i = 0; i < kAuthTagBytes; ++i) buf[len - kAuthTagBytes + i] = tag[i];
}

AuthCheck DatagramAuth::Check(const uint8_t* buf, size_t len) {
  const uint16_t flags = uint16_t((buf[kOffFlags] << 8) | buf[kOffFlags + 1]);
  if ((flags & kFlagAuth) == 0) return AuthCheck::kUnauthenticated;
  uint8_t tag[32];
  if (!Tag(buf, len, tag)) return AuthCheck::kBadAuth;
  return CRYPTO_memcmp(tag, buf + len - kAuthTagBytes, kAuthTagBytes) == 0 ? AuthCheck::kGenuine
                                                                           : AuthCheck::kBadAuth;
}

}  // namespace rtprobe
