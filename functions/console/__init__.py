"""The SaaS console API the portal uses. It orchestrates the Engine and never governs."""
