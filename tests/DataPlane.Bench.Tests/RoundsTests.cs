using DataPlane.Bench.Scenarios;

namespace DataPlane.Bench.Tests;

/// <summary>The round order and summary of the scenarios that compare targets in rounds, which must treat every target alike.</summary>
public sealed class RoundsTests
{
    private static readonly string[] Targets = ["direct", "dataplane", "dataplane-sockets", "haproxy"];

    [Fact]
    public void Order_OverAsManyRoundsAsTargets_PutsEachTargetInEachPlaceOnce()
    {
        var places = Targets.ToDictionary(t => t, _ => new List<int>());
        for (var round = 0; round < Targets.Length; round++)
        {
            var order = Rounds.Order(Targets, round).ToList();
            Assert.Equal(Targets.Order(), order.Order());
            for (var place = 0; place < order.Count; place++)
            {
                places[order[place]].Add(place);
            }
        }

        foreach (var target in Targets)
        {
            Assert.Equal([0, 1, 2, 3], places[target].Order());
        }
    }

    [Fact]
    public void Order_FirstRound_IsTheListAsGiven() => Assert.Equal(Targets, Rounds.Order(Targets, 0));

    [Theory]
    [InlineData(new[] { 3.0 }, 3.0)]
    [InlineData(new[] { 9.0, 1.0, 5.0 }, 5.0)]
    [InlineData(new[] { 4.0, 1.0, 9.0, 2.0 }, 3.0)]
    public void Median_IsTheMiddleValueOrTheMeanOfTheMiddleTwo(double[] values, double median) =>
        Assert.Equal(median, Rounds.Median(values));

    [Fact]
    public void Median_OfNothing_Throws() => Assert.Throws<ArgumentException>(() => Rounds.Median([]));
}
