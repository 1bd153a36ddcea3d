"""Azure remediations: ARM PATCHes of one resource, through the generic resource API."""
