"""The Streamlit layer the pages share: the only Streamlit code outside app.py and pages/.

Imports run one way: shell -> classroom, resources -> training, canvas, show -> session ->
markdown; patches stands alone. The core (deepviz/*.py) never imports this package."""
