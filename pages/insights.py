import streamlit as st

from deepviz.figures import confusion_figure, per_class_figure
from pages.common import evaluation, mnist, pick_model, preload_tensorflow, run_app_first, sure

run_app_first()
preload_tensorflow()

GALLERY = 16
PER_ROW = 8

st.title("Insights")
trained = pick_model()
result = evaluation(trained.key, trained)
test = mnist()

st.header("How well it does")
st.caption(
    f"All {len(result.labels):,} test digits, which the network never saw while training: it reads "
    f"{result.accuracy:.2%} of them right. Below, where the other {(result.predictions != result.labels).sum():,} go."
)
matrix, classes = st.columns([3, 2], gap="large")
with matrix:
    st.subheader("Which digits it confuses")
    st.caption(
        "Each row is the true digit, each column the network's answer. The diagonal counts the "
        "right answers; the coloured squares off it are mistakes, brighter for more of them."
    )
    st.plotly_chart(confusion_figure(result.confusion))
with classes:
    st.subheader("Accuracy per digit")
    st.caption("Some digits are harder than others; the hardest is highlighted.")
    st.plotly_chart(per_class_figure(result.per_class_accuracy))

st.subheader("Its most confident mistakes")
st.caption(
    "Test digits the network got wrong while being most sure of itself. Would you have read them "
    "right? Some are hard even for people."
)
mistakes = result.mistakes(GALLERY)
for start in range(0, len(mistakes), PER_ROW):
    for column, index in zip(st.columns(PER_ROW), mistakes[start : start + PER_ROW]):
        predicted = result.predictions[index]
        column.image(
            test.x_test[index],
            caption=f"true {result.labels[index]}, read as {predicted} "
            f"({sure(result.probabilities[index, predicted])})",
            width="stretch",
        )
