"""The company dossier (*fascicolo d'impresa*): data entered once, with provenance and history."""
