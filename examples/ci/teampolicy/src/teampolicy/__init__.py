"""A product team's personalization policies (the code under test in examples/ci)."""
