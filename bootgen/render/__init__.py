"""The outputs: text for people, the JSON document, JUnit XML."""
