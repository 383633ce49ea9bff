// The one translation unit that compiles Asio (with its TLS layer) and Beast.
//
// The build defines BOOST_ASIO_SEPARATE_COMPILATION and
// BOOST_BEAST_SEPARATE_COMPILATION for every file, so other files that use
// Asio or Beast only see declarations, and their implementation is built
// here once instead of in each of them.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
