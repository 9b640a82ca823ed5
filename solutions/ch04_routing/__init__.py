"""Chapter 4 — routing: method and path patterns (exact > parameter > wildcard), query strings, 404/405/501, HEAD, Date."""
