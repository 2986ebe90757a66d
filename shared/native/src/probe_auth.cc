#include "probe_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace rtprobe {
namespace {

void Tag(const uint8_t* buf, size_t len, const std::vector<uint8_t>& key,
         uint8_t (&out)[EVP_MAX_MD_SIZE]) {
  unsigned outLen = 0;
  HMAC(EVP_sha256(), key.data(), int(key.size()), buf, len - kAuthTagBytes, out, &outLen);
}

}  // namespace

void SignDatagram(uint8_t* buf, size_t len, const std::vector<uint8_t>& key) {
  buf[kOffFlagsForAuth] |= uint8_t(kFlagAuth >> 8);
  buf[kOffFlagsForAuth + 1] |= uint8_t(kFlagAuth & 0xff);
  uint8_t tag[EVP_MAX_MD_SIZE];
  Tag(buf, len, key, tag);
  for (size_t i = 0; i < kAuthTagBytes; ++i) buf[len - kAuthTagBytes + i] = tag[i];
}

AuthCheck CheckAuth(const uint8_t* buf, size_t len, const std::vector<uint8_t>& key) {
  const uint16_t flags = uint16_t((buf[kOffFlagsForAuth] << 8) | buf[kOffFlagsForAuth + 1]);
  if ((flags & kFlagAuth) == 0) return AuthCheck::kUnauthenticated;
  uint8_t tag[EVP_MAX_MD_SIZE];
  Tag(buf, len, key, tag);
  return CRYPTO_memcmp(tag, buf + len - kAuthTagBytes, kAuthTagBytes) == 0 ? AuthCheck::kGenuine
                                                                           : AuthCheck::kBadAuth;
}

}  // namespace rtprobe
