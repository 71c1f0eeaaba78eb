using System.Runtime.CompilerServices;

// Lookups stackalloc scratch (a key's UTF-8 bytes, a preference list's node indexes) and only read
// what they wrote; zeroing 256 bytes per lookup cost more than the search itself.
[module: SkipLocalsInit]
