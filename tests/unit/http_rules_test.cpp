// The small pure pieces under the request parser: field rules, target forms, header lookup.
#include <gtest/gtest.h>

#include "shared/http/field_rules.h"
#include "shared/http/target.h"
#include "shared/site/exchange.h"

namespace sitehost::http {
namespace {

TEST(FieldRules, Iequals) {
  EXPECT_TRUE(iequals("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(iequals("Content-Length", "Content-Lengt"));
  EXPECT_FALSE(iequals("a", "\xc1"));  // no locale tricks: only ASCII letters fold
}

TEST(FieldRules, ContentLength) {
  uint64_t v = 0;
  EXPECT_TRUE(parse_content_length("0", &v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(parse_content_length("18446744073709551615", &v));
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_FALSE(parse_content_length("18446744073709551616", &v));
  EXPECT_FALSE(parse_content_length("", &v));
  EXPECT_FALSE(parse_content_length("1 ", &v));
  EXPECT_FALSE(parse_content_length("+1", &v));
  EXPECT_FALSE(parse_content_length("1,1", &v));
}

TEST(FieldRules, TransferEncoding) {
  TransferCodings t = parse_transfer_encoding(" chunked ");
  EXPECT_EQ(t.chunked, 1);
  EXPECT_FALSE(t.other);
  EXPECT_FALSE(t.empty_element);
  t = parse_transfer_encoding("CHUNKED,\tchunked");
  EXPECT_EQ(t.chunked, 2);
  t = parse_transfer_encoding("gzip, chunked");
  EXPECT_TRUE(t.other);
  EXPECT_EQ(t.chunked, 1);
  t = parse_transfer_encoding(",chunked");
  EXPECT_TRUE(t.empty_element);
  t = parse_transfer_encoding("");
  EXPECT_TRUE(t.empty_element);
}

TEST(FieldRules, KnownMethods) {
  EXPECT_TRUE(is_known_method("GET"));
  EXPECT_TRUE(is_known_method("M-SEARCH"));
  EXPECT_TRUE(is_known_method("CONNECT"));  // known; the parser answers 501 itself
  EXPECT_FALSE(is_known_method("get"));
  EXPECT_FALSE(is_known_method("PRI"));
  EXPECT_FALSE(is_known_method("DESCRIBE"));
  EXPECT_FALSE(is_known_method("QUERY"));
}

TEST(Target, Forms) {
  TargetParts t;
  EXPECT_EQ(split_target("GET", "/a/b?c=d", &t), nullptr);
  EXPECT_EQ(t.path, "/a/b");
  EXPECT_EQ(t.query, "c=d");
  EXPECT_EQ(t.authority, "");
  EXPECT_EQ(split_target("GET", "//x", &t), nullptr);
  EXPECT_EQ(t.path, "//x");
  EXPECT_EQ(split_target("GET", "/?", &t), nullptr);
  EXPECT_EQ(t.path, "/");
  EXPECT_EQ(t.query, "");
  EXPECT_EQ(split_target("OPTIONS", "*", &t), nullptr);
  EXPECT_EQ(t.path, "*");
  EXPECT_EQ(split_target("GET", "hTtP://h:1/p?q", &t), nullptr);
  EXPECT_EQ(t.authority, "h:1");
  EXPECT_EQ(t.path, "/p");
  EXPECT_EQ(t.query, "q");
  EXPECT_EQ(split_target("GET", "https://h", &t), nullptr);
  EXPECT_EQ(t.path, "/");

  EXPECT_NE(split_target("GET", "*", &t), nullptr);
  EXPECT_NE(split_target("GET", "foo", &t), nullptr);
  EXPECT_NE(split_target("GET", "http://", &t), nullptr);
  EXPECT_NE(split_target("GET", "http://a@b/", &t), nullptr);
  EXPECT_NE(split_target("GET", "http://a\"b/", &t), nullptr);
  EXPECT_NE(split_target("GET", "ws://h/", &t), nullptr);
  EXPECT_NE(split_target("CONNECT", "h:443", &t), nullptr);
}

TEST(RequestInfo, HeaderLookupIsCaseInsensitiveFirstValue) {
  const HeaderView hs[] = {{"Accept", "a"}, {"X-Thing", "1"}, {"x-thing", "2"}, {"Empty", ""}};
  RequestInfo info;
  info.headers = hs;
  EXPECT_EQ(info.header("x-THING"), std::optional<std::string_view>("1"));
  EXPECT_EQ(info.header("accept"), std::optional<std::string_view>("a"));
  EXPECT_EQ(info.header("empty"), std::optional<std::string_view>(""));
  EXPECT_EQ(info.header("missing"), std::nullopt);
  EXPECT_EQ(info.header("X-Thin"), std::nullopt);
}

}  // namespace
}  // namespace sitehost::http
