"""Cross-area web pieces: home page, language switch, navigation, error pages."""
