"""The Streamlit layer the pages share: the only Streamlit code outside app.py and pages/.

Imports run one way: shell.py at the top (app.py runs it); classroom.py, resources.py,
training.py, canvas.py, show.py and lab.py below it; session.py under those; markdown.py and
patches.py at the bottom, importing nothing of this package. The core (deepviz/*.py) never
imports it (tests/test_architecture.py)."""
