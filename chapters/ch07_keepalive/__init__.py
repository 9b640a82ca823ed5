"""Chapter 7 — keep-alive: many requests per connection, pipelining, an idle timeout."""
