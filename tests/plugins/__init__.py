"""Third-party plugin tests: separately packaged plugins installed and discovered for real."""
